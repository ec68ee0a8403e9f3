"""Use cases of residents' reports: open, suggest duplicates, follow, read."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, or_
from sqlmodel import Session, col, select

from services.tickets.adapters.orm import Category, Follower, Ticket, TicketHistory, TicketPhoto
from services.tickets.adapters.photos import CleanPhoto
from services.tickets.domain import geo, sla
from services.tickets.domain.errors import Invalid
from services.tickets.domain.lifecycle import OPEN_STATES, STATE_NAMES, is_open
from services.tickets.service_layer.common import (
    attach_photos,
    event_fields,
    get_category,
    get_ticket,
    insert_now,
    media_path,
    new_ticket_id,
    record,
)
from shared.clock import as_utc, local
from shared.events.envelope import CloudEvent
from shared.events.tickets import TicketFollowed, TicketOpened
from shared.service import ServiceContext


def check_attributes(category: Category, given: dict[str, Any]) -> dict[str, Any]:
    """Keep only the category's attributes; required ones must be present, lists must use a listed key."""
    clean: dict[str, Any] = {}
    for attr in category.attributes or []:
        code = attr["code"]
        value = given.get(code)
        if value in (None, ""):
            if attr.get("required"):
                raise Invalid(f"缺少必填项 {attr.get('description', code)} / attribute {code} is required")
            continue
        keys = [str(v["key"]) for v in attr.get("values") or []]
        if keys and str(value) not in keys:
            raise Invalid(f"{code} 取值无效 / attribute {code} must be one of {', '.join(keys)}")
        clean[code] = value
    return clean


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
    written: list[CleanPhoto] | None = None,
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
    ticket = Ticket(
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
    rows = (
        attach_photos(ctx, session, ticket, photos, entry.id, written if written is not None else []) if photos else []
    )
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


SIMILAR_SHOWN = 10


def similar_open(session: Session, ticket: Ticket) -> list[dict[str, Any]]:
    """Open reports of the same category within 50 m, or in the same building (anonymised).

    The database narrows the candidates (same building, or a lat/lon box around the point);
    the exact distance is checked here.
    """
    by_building = bool(ticket.building and ticket.community)
    by_point = ticket.lat is not None and ticket.lon is not None
    if not (by_building or by_point):
        return []
    params: dict[str, Any] = {
        "category": ticket.category,
        "id": ticket.id,
        "building": ticket.building,
        "community": ticket.community,
    }
    if by_point:
        dlat = geo.NEARBY_METERS / 111_320 * 1.1
        dlon = dlat / max(math.cos(math.radians(ticket.lat)), 0.01)
        params.update(
            lat_min=ticket.lat - dlat, lat_max=ticket.lat + dlat, lon_min=ticket.lon - dlon, lon_max=ticket.lon + dlon
        )
    found = []
    for other in session.connection().execute(_similar_query(by_building, by_point), params):
        distance = None
        if by_point and other.lat is not None and other.lon is not None:
            distance = geo.distance_m(ticket.lat, ticket.lon, other.lat, other.lon)
        same_building = by_building and other.building == ticket.building and other.community == ticket.community
        if same_building or (distance is not None and distance <= geo.NEARBY_METERS):
            found.append(
                {
                    "id": other.id,
                    "title": other.title,
                    "status": other.status,
                    "created_at": as_utc(other.created_at),
                    "distance_m": round(distance, 1) if distance is not None else None,
                }
            )
            if len(found) == SIMILAR_SHOWN:
                break
    return found


@lru_cache(maxsize=4)
def _similar_query(by_building: bool, by_point: bool):
    t = Ticket.__table__
    near = []
    if by_building:
        near.append(and_(t.c.building == bindparam("building"), t.c.community == bindparam("community")))
    if by_point:
        near.append(
            and_(
                t.c.lat.between(bindparam("lat_min"), bindparam("lat_max")),
                t.c.lon.between(bindparam("lon_min"), bindparam("lon_max")),
            )
        )
    # Box candidates may fall outside the circle: read a few more than are shown.
    return (
        select(t.c.id, t.c.title, t.c.status, t.c.created_at, t.c.lat, t.c.lon, t.c.building, t.c.community)
        .where(
            t.c.category == bindparam("category"), t.c.id != bindparam("id"), t.c.status.in_(OPEN_STATES), or_(*near)
        )
        .order_by(t.c.created_at.desc())
        .limit(50 if by_point else SIMILAR_SHOWN)
    )


def follow(ctx: ServiceContext, session: Session, ticket_id: str, follower: str) -> bool:
    """Subscribe ``follower`` to a ticket's updates; returns ``False`` if already following."""
    ticket = get_ticket(session, ticket_id)
    if session.get(Follower, (ticket_id, follower)) is not None:
        return False
    if ticket.reporter == follower:
        raise Invalid("报事人已自动关注 / the reporter already receives updates")
    session.add(Follower(ticket_id=ticket_id, follower=follower, created_at=ctx.clock.now()))
    cat = session.get(Category, ticket.category)
    ctx.emit(session, TicketFollowed(**event_fields(ticket, cat), follower=follower), subject=ticket.id)
    return True


def photos_of(session: Session, ticket_id: str) -> list[TicketPhoto]:
    return list(
        session.exec(select(TicketPhoto).where(TicketPhoto.ticket_id == ticket_id).order_by(col(TicketPhoto.id))).all()
    )


def history_of(session: Session, ticket_id: str) -> list[TicketHistory]:
    return list(
        session.exec(
            select(TicketHistory)
            .where(TicketHistory.ticket_id == ticket_id)
            .order_by(col(TicketHistory.at), col(TicketHistory.id))
        ).all()
    )


RESIDENT_ACTIONS = ("open", "rate", "reopen", "withdraw")


def public_note(entry: TicketHistory) -> str | None:
    """Notes residents wrote (rating comments, reopen reasons) stay private; staff notes are public."""
    return None if entry.action in RESIDENT_ACTIONS else entry.note


def _when(value):
    return as_utc(value) if value is not None else None


def public_view(
    session: Session,
    ticket: Ticket,
    photos: list[TicketPhoto] | None = None,
    history: list[TicketHistory] | None = None,
    category: Category | None = None,
) -> dict[str, Any]:
    """What anyone may see: no reporter, no contact fields, actors shown only as staff/resident.

    ``photos``, ``history`` and ``category`` are loaded here unless the caller already has them.
    """
    photos = photos_of(session, ticket.id) if photos is None else photos
    history = history_of(session, ticket.id) if history is None else history
    cat = category or session.get(Category, ticket.category)
    return {
        "id": ticket.id,
        "category": ticket.category,
        "category_name": cat.name if cat else ticket.category,
        "title": ticket.title,
        "description": ticket.description,
        "community": ticket.community,
        "building": ticket.building,
        "address": ticket.address,
        "lat": ticket.lat,
        "lon": ticket.lon,
        "status": ticket.status,
        "status_name": STATE_NAMES.get(ticket.status, ticket.status),
        "close_reason": ticket.close_reason,
        "created_at": _when(ticket.created_at),
        "updated_at": _when(ticket.updated_at),
        "first_response_due": _when(ticket.first_response_due),
        "resolution_due": _when(ticket.resolution_due),
        "first_response_due_local": local(ticket.first_response_due).isoformat() if ticket.first_response_due else None,
        "resolution_due_local": local(ticket.resolution_due).isoformat() if ticket.resolution_due else None,
        "acknowledged_at": _when(ticket.acknowledged_at),
        "resolved_at": _when(ticket.resolved_at),
        "closed_at": _when(ticket.closed_at),
        "photos": [media_path(p) for p in photos],
        "history": [
            {"at": _when(h.at), "action": h.action, "status": h.to_status, "note": public_note(h)} for h in history
        ],
    }


def full_view(session: Session, ticket: Ticket) -> dict[str, Any]:
    """The reporter's and staff's view: adds the reporter, assignee, contact, rating, escalation, actors."""
    followers = session.exec(select(Follower.follower).where(Follower.ticket_id == ticket.id)).all()
    return _full(session, ticket, photos_of(session, ticket.id), history_of(session, ticket.id), list(followers))


def opened_view(session: Session, opened: Opened) -> dict[str, Any]:
    """:func:`full_view` of a report just opened, from what :func:`open_report` holds (no reads)."""
    return _full(session, opened.ticket, opened.photos, opened.history, [], opened.category)


def _full(
    session: Session,
    ticket: Ticket,
    photos: list[TicketPhoto],
    history: list[TicketHistory],
    followers: list[str],
    category: Category | None = None,
) -> dict[str, Any]:
    view = public_view(session, ticket, photos, history, category)
    by_entry: dict[int, list[str]] = {}
    for photo in photos:
        by_entry.setdefault(photo.history_id, []).append(media_path(photo))
    view.update(
        {
            "unit": ticket.unit,
            "reporter": ticket.reporter,
            "assignee": ticket.assignee,
            "contact": ticket.contact,
            "attributes": ticket.attributes,
            "rating": ticket.rating,
            "rating_comment": ticket.rating_comment,
            "escalation_level": ticket.escalation_level,
            "escalated_to": ticket.escalated_to,
            "via": ticket.via,
            "source_hazard_id": ticket.source_hazard_id,
            "followers": list(followers),
            "open": is_open(ticket.status),
            "history": [
                {
                    "at": _when(h.at),
                    "actor": h.actor,
                    "action": h.action,
                    "from_status": h.from_status,
                    "status": h.to_status,
                    "note": h.note,
                    "photos": by_entry.get(h.id, []),
                }
                for h in history
            ],
        }
    )
    return view


def view_for(session: Session, ticket_id: str, sub: str, staff: bool) -> dict[str, Any]:
    """Staff and the reporter get the full view; any other resident the anonymised one."""
    ticket = get_ticket(session, ticket_id)
    if staff or ticket.reporter == sub:
        return full_view(session, ticket)
    return public_view(session, ticket)


SUMMARY_COLUMNS = (
    "id",
    "category",
    "title",
    "status",
    "community",
    "building",
    "assignee",
    "created_at",
    "first_response_due",
    "resolution_due",
    "escalation_level",
)


def list_tickets(
    session: Session,
    *,
    reporter: str | None = None,
    status: str | None = None,
    category: str | None = None,
    community: str | None = None,
    assignee: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Tickets newest first, filtered: one summary (:data:`SUMMARY_COLUMNS`) per ticket.

    Only those columns are read, with a statement built once per combination of filters (no ORM
    objects, no JSON columns decoded): this is the route residents open most.
    """
    filters = {
        "reporter": reporter,
        "category": category,
        "community": community,
        "assignee": assignee,
        "status": status if status and status != "open" else None,
    }
    given = {k: v for k, v in filters.items() if v}
    query = _summary_query(tuple(sorted(given)), status == "open")
    rows = session.connection().execute(query, {**given, "limit": min(limit, 500)}).all()
    return [dict(zip(SUMMARY_COLUMNS, row, strict=True)) for row in rows]


@lru_cache(maxsize=64)
def _summary_query(filtered: tuple[str, ...], only_open: bool):
    table = Ticket.__table__
    query = select(*(table.c[c] for c in SUMMARY_COLUMNS))
    for name in filtered:
        query = query.where(table.c[name] == bindparam(name))
    if only_open:
        query = query.where(table.c.status.in_(OPEN_STATES))
    return query.order_by(table.c.created_at.desc()).limit(bindparam("limit"))
