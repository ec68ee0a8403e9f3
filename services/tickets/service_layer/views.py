"""Read views of tickets, categories, the roster and KPIs: the response models and the reads that fill them.

Commands live beside this module (``reports``, ``workflow`` …); nothing here writes.
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, JsonValue
from sqlalchemy import Connection, Select, and_, bindparam, or_
from sqlmodel import Session, col, select

from services.tickets.adapters.orm import Category, Follower, StaffDuty, Ticket, TicketHistory, TicketPhoto
from services.tickets.domain import disclosure, geo, links
from services.tickets.domain.attributes import AttributeDef
from services.tickets.domain.lifecycle import OPEN_STATES, STATE_NAMES, is_open
from services.tickets.service_layer.common import get_ticket, media_path, original_path
from services.tickets.service_layer.scope import communities_of, entitled, is_private
from shared.clock import as_utc, shown
from shared.db.clauses import one_of
from shared.db.driver import fetch
from shared.db.rows import loaded
from shared.identity import Principal
from shared.web.fields import View
from shared.web.pages import Page, PageQuery, keyset, page_of

# -- response models -----------------------------------------------------------------------------


class CategoryView(View):
    """A kind of report with its deadlines, routing, attribute definitions and response templates."""

    code: str
    name: str
    name_en: str
    description: str
    group: str
    keywords: str
    safety_critical: bool
    in_home: bool
    response_hours: float
    resolution_hours: float
    pool: str
    supervisor: str | None
    secretary: str | None
    attributes: list[AttributeDef]
    templates: dict[str, list[str]]
    active: bool


class DutyView(View):
    """One member of a pool's round-robin roster."""

    pool: str
    staff_id: str
    display_name: str
    on_duty: bool
    last_assigned_at: datetime | None = None


class TicketSummary(View):
    """One line of the ticket list."""

    id: str
    category: str
    title: str
    status: str
    community: str | None
    building: str | None
    assignee: str | None
    created_at: datetime
    first_response_due: datetime | None
    resolution_due: datetime | None
    escalation_level: int


class PublicEntry(View):
    """A history entry as anyone may see it (no actor; residents' own notes left out)."""

    at: datetime | None
    action: str
    status: str
    note: str | None


class Entry(View):
    """A history entry for staff and the reporter."""

    at: datetime | None
    actor: str | None
    action: str
    from_status: str | None
    status: str
    note: str | None
    photos: list[str]


class Similar(View):
    """An open report of the same category nearby (anonymised): follow it instead of filing a duplicate."""

    id: str
    title: str
    status: str
    created_at: datetime
    distance_m: float | None


class _TicketFields(View):
    id: str
    category: str
    category_name: str
    title: str
    description: str
    community: str | None
    building: str | None
    address: str | None
    lat: float | None
    lon: float | None
    status: str
    status_name: str
    close_reason: str | None
    created_at: datetime | None
    updated_at: datetime | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_due_local: datetime | None
    resolution_due_local: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    photos: list[str] = Field(description="display copies (longest side 1600 px) of the report's photos")
    media_url: str | None = None
    private: bool = Field(
        default=False,
        description="a report from a home (a volunteer's visit, a category inside a home): public views show "
        "its community only, photo links are signed and expire",
    )


class PublicTicketView(_TicketFields):
    """What any resident may see of a report: no reporter, no contact, actors left out; of a private
    report only its category, community and status."""

    view: Literal["public"] = "public"
    history: list[PublicEntry]


class TicketView(_TicketFields):
    """The reporter's and staff's view of a report."""

    view: Literal["full"] = "full"
    history: list[Entry]
    unit: str | None
    reporter: str | None
    assignee: str | None
    contact: dict[str, JsonValue]
    attributes: dict[str, JsonValue]
    rating: int | None
    rating_comment: str | None
    escalation_level: int
    escalated_to: str | None
    via: str
    source_hazard_id: str | None
    followers: list[str]
    open: bool
    originals: list[str] = Field(default=[], description="the photos as uploaded (without metadata)")


class OpenedView(TicketView):
    """A report just filed, with open reports nearby it may duplicate."""

    similar: list[Similar]


AnyTicketView = Annotated[TicketView | PublicTicketView, Field(discriminator="view")]


class KpiRow(View):
    category: str
    month: str
    total: int
    responded: int
    response_within_deadline_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    rated: int
    median_first_response_minutes: float | None
    p90_first_response_minutes: float | None


class KpiView(View):
    """12345 indicators per category and month, and the open backlog by age per category."""

    generated_at: datetime
    rows: list[KpiRow]
    backlog: dict[str, dict[str, int]]


class FollowView(View):
    ticket_id: str
    following: bool
    new: bool = Field(description="false when the caller already followed the report")


# -- reads ---------------------------------------------------------------------------------------


def category_view(category: Category) -> CategoryView:
    return CategoryView.model_validate(category.model_dump())


def categories_page(session: Session, page: PageQuery) -> Page[CategoryView]:
    """Active categories by group and code."""
    query = select(Category).where(Category.active == True)  # noqa: E712
    rows = session.exec(keyset(query, [col(Category.group), col(Category.code)], page)).all()
    return page_of(rows, page, key=lambda c: (c.group, c.code), view=category_view)


def roster_page(session: Session, pool: str | None, page: PageQuery) -> Page[DutyView]:
    query = select(StaffDuty)
    if pool:
        query = query.where(StaffDuty.pool == pool)
    rows = session.exec(keyset(query, [col(StaffDuty.pool), col(StaffDuty.staff_id)], page)).all()
    return page_of(rows, page, key=lambda r: (r.pool, r.staff_id), view=DutyView.model_validate)


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


def public_note(entry: TicketHistory, private: bool = False) -> str | None:
    """The note public views show: staff's status notes only, none of a private ticket (no names, see
    :func:`services.tickets.domain.disclosure.public_note`)."""
    return disclosure.public_note(entry.action, entry.note, private=private, actor=entry.actor)


PRIVATE_DESCRIPTION = "入户报事，详情不公开 / a report from inside a home: details are not public"


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def _fields(ticket: Ticket, photos: list[TicketPhoto], category: Category | None) -> dict[str, Any]:
    paths = [media_path(p) for p in photos]
    t = loaded(ticket)
    return {
        "id": t["id"],
        "category": t["category"],
        "category_name": category.name if category else t["category"],
        "title": t["title"],
        "description": t["description"],
        "community": t["community"],
        "building": t["building"],
        "address": t["address"],
        "lat": t["lat"],
        "lon": t["lon"],
        "status": t["status"],
        "status_name": STATE_NAMES.get(t["status"], t["status"]),
        "close_reason": t["close_reason"],
        "created_at": _utc(t["created_at"]),
        "updated_at": _utc(t["updated_at"]),
        "first_response_due": _utc(t["first_response_due"]),
        "resolution_due": _utc(t["resolution_due"]),
        "first_response_due_local": shown(t["first_response_due"]),
        "resolution_due_local": shown(t["resolution_due"]),
        "acknowledged_at": _utc(t["acknowledged_at"]),
        "resolved_at": _utc(t["resolved_at"]),
        "closed_at": _utc(t["closed_at"]),
        "photos": paths,
        "media_url": paths[0] if paths else None,
        "private": is_private(ticket, category),
    }


def _public_fields(ticket: Ticket, photos: list[TicketPhoto], category: Category | None) -> dict[str, Any]:
    """:func:`_fields` as anyone may see them: of a private ticket the community, category and dates only."""
    fields = _fields(ticket, photos, category)
    if fields["private"]:
        name = category.name if category else ticket.category
        fields.update(
            title=disclosure.public_title(ticket.title, name, private=True),
            description=PRIVATE_DESCRIPTION,
            building=None,
            address=None,
            lat=None,
            lon=None,
            photos=[],
            media_url=None,
        )
    return fields


def public_view(
    session: Session,
    ticket: Ticket,
    photos: list[TicketPhoto] | None = None,
    history: list[TicketHistory] | None = None,
    category: Category | None = None,
) -> PublicTicketView:
    """What anyone may see: no reporter, no contact fields, actors shown only as staff/resident."""
    photos = photos_of(session, ticket.id) if photos is None else photos
    history = history_of(session, ticket.id) if history is None else history
    cat = category or session.get(Category, ticket.category)
    private = is_private(ticket, cat)
    entries = [
        PublicEntry(at=_utc(h.at), action=h.action, status=h.to_status, note=public_note(h, private)) for h in history
    ]
    return PublicTicketView(**_public_fields(ticket, photos, cat), history=entries)


def full_view(session: Session, ticket: Ticket) -> TicketView:
    """The reporter's and staff's view: adds the reporter, assignee, contact, rating, escalation, actors."""
    followers = session.exec(select(Follower.follower).where(Follower.ticket_id == ticket.id)).all()
    return TicketView(
        **_full(ticket, photos_of(session, ticket.id), history_of(session, ticket.id), list(followers), None, session)
    )


def opened_view(
    session: Session, ticket: Ticket, category: Category, history: list[TicketHistory], photos: list[TicketPhoto]
) -> OpenedView:
    """:func:`full_view` of a report just opened, from what the command holds, with similar open reports."""
    return OpenedView(
        **_full(ticket, photos, history, [], category, session), similar=similar_open(session, ticket, category)
    )


def _full(
    ticket: Ticket,
    photos: list[TicketPhoto],
    history: list[TicketHistory],
    followers: list[str],
    category: Category | None,
    session: Session,
) -> dict[str, Any]:
    cat = category or session.get(Category, ticket.category)
    by_entry: dict[int | None, list[str]] = {}
    for photo in photos:
        by_entry.setdefault(photo.history_id, []).append(media_path(photo))
    t = loaded(ticket)
    return {
        **_fields(ticket, photos, cat),
        "unit": t["unit"],
        "reporter": t["reporter"],
        "assignee": t["assignee"],
        "contact": t["contact"],
        "attributes": t["attributes"],
        "rating": t["rating"],
        "rating_comment": t["rating_comment"],
        "escalation_level": t["escalation_level"],
        "escalated_to": t["escalated_to"],
        "via": t["via"],
        "source_hazard_id": t["source_hazard_id"],
        "followers": followers,
        "open": is_open(t["status"]),
        "originals": [original_path(p) for p in photos],
        "history": [
            Entry(
                at=_utc(h.at),
                actor=h.actor,
                action=h.action,
                from_status=h.from_status,
                status=h.to_status,
                note=h.note,
                photos=by_entry.get(h.id, []),
            )
            for h in history
        ],
    }


def view_for(session: Session, ticket_id: str, who: Principal) -> TicketView | PublicTicketView:
    """Staff serving the ticket's community and its reporter get the full view; anyone else the public one."""
    ticket = get_ticket(session, ticket_id)
    if entitled(who, ticket):
        return full_view(session, ticket)
    return public_view(session, ticket)


def ticket_view(session: Session, ticket_id: str) -> TicketView:
    """The full view of a ticket (after a staff or reporter action)."""
    return full_view(session, get_ticket(session, ticket_id))


def absolute(view: Any, base: str, signing: tuple[str, datetime] | None = None) -> Any:
    """``view`` with its photo paths prefixed by the server's ``base`` URL (``http://host``).

    With ``signing`` (the key and now), the photos of a private ticket get short-lived signed links
    (:mod:`services.tickets.domain.links`): only callers given this view can open them.
    """
    if isinstance(view, _TicketFields) and view.photos:  # every photo of a view (its entries' too) is in photos

        def url(path: str) -> str:
            if signing is None or not view.private:
                return base + path
            key, now = signing
            return f"{base}{path}?{links.signed_query(path.rsplit('/', 1)[-1], now, key)}"

        view.photos = [url(p) for p in view.photos]
        view.media_url = view.photos[0] if view.photos else None
        if isinstance(view, TicketView):
            view.originals = [url(p) for p in view.originals]
            for entry in view.history:
                entry.photos = [url(p) for p in entry.photos]
    return view


# -- lists ---------------------------------------------------------------------------------------

SIMILAR_SHOWN = 10


def similar_open(session: Session, ticket: Ticket, category: Category) -> list[dict[str, Any]]:
    """Open reports of ``category`` (the ticket's) within 50 m, or in the same building (anonymised); none
    of a category kept inside homes. Each is a :class:`Similar`'s fields: the view that carries them
    validates them all in one call, cheaper than building each model here.

    The database narrows the candidates (same building, or a lat/lon box around the point);
    the exact distance is checked here. Every create reads them: on SQLite through the driver.
    """
    lat, lon, building, community = ticket.lat, ticket.lon, ticket.building, ticket.community  # read once
    by_building = bool(building and community)
    by_point = lat is not None and lon is not None
    if not (by_building or by_point):
        return []
    params: dict[str, Any] = {"category": ticket.category, "id": ticket.id}
    params.update(building=building, community=community)
    if lat is not None and lon is not None:
        dlat = geo.NEARBY_METERS / 111_320 * 1.1
        dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
        params.update(lat_min=lat - dlat, lat_max=lat + dlat, lon_min=lon - dlon, lon_max=lon + dlon)
    found: list[dict[str, Any]] = []
    for other in fetch(session.connection(), _similar_query(by_building, by_point), params):
        if disclosure.home_private(via=other.via, source_hazard_id=other.source_hazard_id, in_home=category.in_home):
            continue  # a neighbour's flat is not suggested to anyone
        distance = None
        if lat is not None and lon is not None and other.lat is not None and other.lon is not None:
            distance = geo.distance_m(lat, lon, other.lat, other.lon)
        same_building = by_building and other.building == building and other.community == community
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
def _similar_query(by_building: bool, by_point: bool) -> Select[Any]:
    t = Ticket.__table__  # type: ignore[attr-defined]
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
        select(
            t.c.id,
            t.c.title,
            t.c.status,
            t.c.created_at,
            t.c.lat,
            t.c.lon,
            t.c.building,
            t.c.community,
            t.c.via,
            t.c.source_hazard_id,
        )
        .where(
            t.c.category == bindparam("category"),
            t.c.id != bindparam("id"),
            one_of(t.c.status, OPEN_STATES),
            or_(*near),
        )
        .order_by(t.c.created_at.desc())
        .limit(50 if by_point else SIMILAR_SHOWN)
    )


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
    connection: Connection,
    *,
    reporter: str | None = None,
    status: str | None = None,
    category: str | None = None,
    community: str | None = None,
    assignee: str | None = None,
    communities: frozenset[str] | None = None,
    page: PageQuery | None = None,
) -> Page[TicketSummary]:
    """Tickets newest first (by creation time, then id), filtered: one summary per ticket.

    ``communities`` (a staff member's, see :mod:`.scope`) narrows the list to those communities.

    Only the summary columns are read (no ORM objects, no JSON columns decoded, no ORM session: the
    route runs it with ``Runner.rows``): this is the route residents open most. On SQLite a first page
    is read through the driver (:mod:`shared.db.driver`).
    """
    page = page or PageQuery()
    filters = {
        "reporter": reporter,
        "category": category,
        "community": community,
        "assignee": assignee,
        "status": status if status and status != "open" else None,
    }
    given: dict[str, Any] = {k: v for k, v in filters.items() if v}
    if communities is not None:
        given["communities"] = sorted(communities)
    table = Ticket.__table__  # type: ignore[attr-defined]
    key = [table.c.created_at, table.c.id]
    query = keyset(_summary_query(tuple(sorted(given)), status == "open"), key, page, descending=True)
    # A first page's statement is built once (see keyset): on SQLite to the driver. A next page's has the
    # cursor's values in it, new each time: through SQLAlchemy, whose cache keys it by its shape.
    rows = fetch(connection, query, given) if page.cursor is None else connection.execute(query, given).all()
    return page_of(
        rows,
        page,
        key=lambda r: (r.created_at, r.id),
        model=TicketSummary,  # the rows validated in one call: faster than building each summary in Python
    )


def tickets_for(connection: Connection, who: Principal, page: PageQuery, **filters: Any) -> Page[TicketSummary]:
    """The list a caller may see: staff the tickets of the communities they serve (operators all),
    residents and volunteers their own reports."""
    if who.has("staff", "operator"):
        return list_tickets(connection, communities=communities_of(who), page=page, **filters)
    return list_tickets(connection, reporter=who.sub, page=page, **filters)


@lru_cache(maxsize=64)
def _summary_query(filtered: tuple[str, ...], only_open: bool) -> Select[Any]:
    table = Ticket.__table__  # type: ignore[attr-defined]
    query = select(*(table.c[c] for c in SUMMARY_COLUMNS))
    for name in filtered:
        if name == "communities":
            query = query.where(table.c.community.in_(bindparam("communities", expanding=True)))
        else:
            query = query.where(table.c[name] == bindparam(name))
    if only_open:
        query = query.where(one_of(table.c.status, OPEN_STATES))
    return query
