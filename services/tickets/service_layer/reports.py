"""Use cases of residents' reports: open (with photos and attributes), add photos, follow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from services.tickets.adapters.orm import Category, Follower, Ticket, TicketHistory, TicketPhoto
from services.tickets.adapters.photos import CleanPhoto
from services.tickets.domain import sla
from services.tickets.domain.attributes import AttributeDef, AttributeProblem
from services.tickets.domain.attributes import check_attributes as checked_attributes
from services.tickets.domain.media import MAX_PHOTOS
from services.tickets.service_layer import scope
from services.tickets.service_layer.common import (
    attach_photos,
    event_fields,
    get_category,
    get_ticket,
    insert_now,
    new_ticket_id,
    record,
)
from shared.db.rows import new_row
from shared.errors import Forbidden, Invalid, NotFound, TooLarge
from shared.events.envelope import CloudEvent
from shared.events.tickets import TicketFollowed, TicketOpened
from shared.identity import Principal
from shared.service import ServiceContext


def check_attributes(category: Category, given: dict[str, Any]) -> dict[str, Any]:
    """A report's attributes checked against its category's definitions (type, allowed values, length;
    unknown ones refused, required ones required): 422 with the rule's code otherwise."""
    try:
        definitions = [AttributeDef.model_validate(a) for a in category.attributes or []]
        return checked_attributes(definitions, given)
    except AttributeProblem as exc:
        raise Invalid(str(exc), code=exc.code) from None


@dataclass
class Opened:
    """A report just stored, with what its first view needs (no need to read it back)."""

    ticket: Ticket
    category: Category
    history: list[TicketHistory]
    photos: list[TicketPhoto]


def open_ticket(ctx: ServiceContext, session: Session, **report: Any) -> Ticket:
    """Store a new report (see :func:`open_report`) and return the ticket."""
    return open_report(ctx, session, **report).ticket


def open_report(
    ctx: ServiceContext,
    session: Session,
    *,
    category: str,
    title: str,
    description: str,
    reporter: str | None,
    community: str | None = None,
    building: str | None = None,
    unit: str | None = None,
    address: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    attributes: dict[str, Any] | None = None,
    contact: dict[str, Any] | None = None,
    photos: list[CleanPhoto] | None = None,
    ticket_id: str | None = None,
    via: str = "app",
    token: str | None = None,
    source_hazard_id: str | None = None,
    causation: CloudEvent | None = None,
    strict: bool = True,
) -> Opened:
    """Store a new report with its deadlines and photos, and record TicketOpened in the same transaction.

    ``strict=False`` (reports from other services) keeps attributes as given instead of requiring them.
    """
    cat = get_category(session, category)
    now = ctx.clock.now()
    due = sla.deadlines(now, cat.response_hours, cat.resolution_hours)
    ticket = new_row(  # not Ticket(...): its per-field __setattr__ cost more than the INSERT (shared/db/rows.py)
        Ticket,
        id=ticket_id or new_ticket_id(),
        category=cat.code,
        title=title,
        description=description,
        community=community,
        building=building,
        unit=unit,
        address=address,
        lat=lat,
        lon=lon,
        reporter=reporter,
        contact=contact or {},
        attributes=check_attributes(cat, attributes or {}) if strict else dict(attributes or {}),
        created_at=now,
        updated_at=now,
        first_response_due=due.first_response_due,
        resolution_due=due.resolution_due,
        via=via,
        token=token,
        source_hazard_id=source_hazard_id,
    )
    insert_now(session, ticket)
    entry = record(session, ticket, at=now, actor=reporter, action="open", from_status=None, note=None)
    rows = attach_photos(ctx, session, ticket, photos, entry.id) if photos else []
    ctx.emit(
        session,
        TicketOpened(
            **{**event_fields(ticket, cat), "title": title},
            building=building,
            unit=unit,
            first_response_due=due.first_response_due,
            resolution_due=due.resolution_due,
            source_hazard_id=source_hazard_id,
        ),
        subject=ticket.id,
        causation=causation,
    )
    return Opened(ticket, cat, [entry], rows)


def follow(ctx: ServiceContext, session: Session, ticket_id: str, who: Principal) -> bool:
    """Subscribe the caller to a ticket's updates; returns ``False`` if already following.

    Only public reports can be followed: a private one (a flat's hazard) is no neighbour's business.
    """
    follower = who.sub
    ticket = get_ticket(session, ticket_id)
    if scope.is_private(ticket, session.get(Category, ticket.category)) and not scope.entitled(who, ticket):
        raise NotFound(f"工单不存在 / no ticket {ticket_id}")
    if session.get(Follower, (ticket_id, follower)) is not None:
        return False
    if ticket.reporter == follower:
        raise Invalid("报事人已自动关注 / the reporter already receives updates", code="already_reporter")
    session.add(Follower(ticket_id=ticket_id, follower=follower, created_at=ctx.clock.now()))
    cat = session.get(Category, ticket.category)
    ctx.emit(session, TicketFollowed(**event_fields(ticket, cat), follower=follower), subject=ticket.id)
    return True


def add_photos(
    ctx: ServiceContext, session: Session, ticket_id: str, who: Principal, photos: list[CleanPhoto]
) -> Ticket:
    """The reporter or staff of its community add photos to a report (at most :data:`MAX_PHOTOS` in all)."""
    ticket = get_ticket(session, ticket_id)
    if scope.is_staff(who) and not scope.serves(who, ticket):
        raise NotFound(f"工单不存在 / no ticket {ticket_id}")
    if not photos:
        raise Invalid("没有照片 / no photo in the request", code="no_photo")
    if not scope.entitled(who, ticket):
        raise Forbidden("只有报事人或工作人员可以上传 / only the reporter or staff may add photos", code="not_reporter")
    have = session.exec(select(TicketPhoto.sha256).where(TicketPhoto.ticket_id == ticket_id)).all()
    if len(set(have) | {p.sha256 for p in photos}) > MAX_PHOTOS:
        raise TooLarge(
            f"每个工单最多 {MAX_PHOTOS} 张照片 / at most {MAX_PHOTOS} photos per report", code="too_many_photos"
        )
    attach_photos(ctx, session, ticket, photos, None)
    session.flush()
    return ticket
