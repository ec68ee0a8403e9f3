"""Read views: rooms, the programme, a household's sign-ups, a session's roster (dicts the edge's models take).

Times are shown in Asia/Shanghai. A roster shows participants by the name the household gave
(a child's given name) and the age band only, never an exact age.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlmodel import Session

from services.activities.adapters.orm import (
    Activity,
    Artisan,
    RepairBooking,
    RepairSession,
    RoomBooking,
    Signup,
    Venue,
    VenueClosure,
    VenueHours,
)
from services.activities.domain import checkin
from services.activities.domain.eligibility import age_group
from services.activities.service_layer import signups as signup_cases
from services.activities.service_layer.programme import HOLDING, run_by
from services.activities.service_layer.programme import activity as load_activity
from services.activities.service_layer.signups import household_of
from shared.clock import shown
from shared.identity import Principal
from shared.service import ServiceContext
from shared.web.pages import Page, PageQuery, keyset, page_of

_VENUES = select(Venue)
_ACTIVITIES = select(Activity)


def venue(session: Session, row: Venue) -> dict[str, Any]:
    hours = session.execute(
        select(VenueHours).where(VenueHours.venue_id == row.id).order_by(VenueHours.weekday, VenueHours.opens)
    ).scalars()
    closed = session.execute(
        select(VenueClosure).where(VenueClosure.venue_id == row.id).order_by(VenueClosure.day)
    ).scalars()
    return {
        **row.model_dump(exclude={"created_at"}),
        "hours": [{"weekday": h.weekday, "opens": h.opens, "closes": h.closes} for h in hours],
        "closures": [{"day": c.day, "reason": c.reason} for c in closed],
    }


def venues(session: Session, community: str | None, page: PageQuery) -> Page[dict[str, Any]]:
    """Rooms by id, of one community or all (rooms are public information)."""
    stmt = _VENUES if community is None else _VENUES.where(Venue.community == community)
    rows = session.execute(keyset(stmt, [Venue.id], page)).scalars().all()
    return page_of(rows, page, key=lambda v: (v.id,), view=lambda v: venue(session, v))


def activity(session: Session, row: Activity) -> dict[str, Any]:
    counts = dict(
        session.execute(
            select(Signup.status, func.count()).where(Signup.activity_id == row.id).group_by(Signup.status)
        ).all()
    )
    room = session.get(Venue, row.venue_id)
    return {
        **row.model_dump(
            exclude={"next_position", "created_at", "starts_at", "ends_at", "signup_opens", "signup_closes"}
        ),
        "venue_name": room.name if room else None,
        "starts_at": shown(row.starts_at),
        "ends_at": shown(row.ends_at),
        "signup_opens": shown(row.signup_opens),
        "signup_closes": shown(row.signup_closes),
        "confirmed": sum(counts.get(s, 0) for s in HOLDING),
        "waitlisted": counts.get("waitlisted", 0),
        "places_left": max(0, row.capacity - sum(counts.get(s, 0) for s in HOLDING)),
    }


def programme(
    session: Session, community: str | None, venue_id: str | None, after: datetime | None, page: PageQuery
) -> Page[dict[str, Any]]:
    """Sessions in time order, filtered by community, room and start."""
    stmt = _ACTIVITIES
    if community is not None:
        stmt = stmt.where(Activity.community == community)
    if venue_id is not None:
        stmt = stmt.where(Activity.venue_id == venue_id)
    if after is not None:
        stmt = stmt.where(Activity.starts_at >= after)
    rows = session.execute(keyset(stmt, [Activity.starts_at, Activity.id], page)).scalars().all()
    return page_of(rows, page, key=lambda a: (a.starts_at, a.id), view=lambda a: activity(session, a))


_AHEAD = (
    select(func.count())
    .select_from(Signup)
    .where(Signup.activity_id == bindparam("activity_id"), Signup.status == "waitlisted")
    .where(Signup.position < bindparam("position"))
)
"""Waitlisted sign-ups ahead of one (built once: every waitlisted sign-up's answer counts them)."""


def signup(ctx: ServiceContext, session: Session, row: Signup) -> dict[str, Any]:
    """A sign-up as its household sees it, with the check-in code when it holds a place."""
    act = load_activity(session, row.activity_id)
    ahead = None
    if row.status == "waitlisted":
        ahead = session.execute(_AHEAD, {"activity_id": row.activity_id, "position": row.position}).scalar_one()
    return _signup(ctx, row, act.title, act.starts_at, ahead)


def placed(ctx: ServiceContext, new: signup_cases.Placed) -> dict[str, Any]:
    """A sign-up just taken (:func:`signup` of it, from the values the sign-up read and wrote: no
    statement, no ORM object)."""
    row = new.signup
    confirmed = row["status"] == "confirmed"
    return {
        "id": row["id"],
        "activity_id": row["activity_id"],
        "title": new.title,
        "starts_at": shown(new.starts_at),
        "participant": row["participant"],
        "status": row["status"],
        "waiting_ahead": new.waiting_ahead,
        "offered_until": shown(row["offered_until"]),
        "attended": row["attended"],
        "checked_in_at": shown(row["checked_in_at"]),
        "checkin_code": checkin.code_for(row["id"], ctx.settings.pii_key) if confirmed else None,
        "created_at": shown(row["created_at"]),
    }


def _signup(ctx: ServiceContext, row: Signup, title: str, starts_at: datetime, ahead: int | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "activity_id": row.activity_id,
        "title": title,
        "starts_at": shown(starts_at),
        "participant": row.participant,
        "status": row.status,
        "waiting_ahead": ahead,
        "offered_until": shown(row.offered_until),
        "attended": row.attended,
        "checked_in_at": shown(row.checked_in_at),
        "checkin_code": signup_cases.code(ctx, row),
        "created_at": shown(row.created_at),
    }


def mine(session: Session, ctx: ServiceContext, who: Principal, page: PageQuery) -> Page[dict[str, Any]]:
    """The caller's household's sign-ups, newest first."""
    stmt = select(Signup).where(Signup.household == household_of(who))
    rows = session.execute(keyset(stmt, [Signup.created_at, Signup.id], page, descending=True)).scalars().all()
    return page_of(rows, page, key=lambda s: (s.created_at, s.id), view=lambda s: signup(ctx, session, s))


def roster(session: Session, who: Principal, activity_id: str, page: PageQuery) -> Page[dict[str, Any]]:
    """Who comes to a session (for its organiser and staff), in queue order; no accounts, no exact ages."""
    act = run_by(session, who, activity_id)
    stmt = select(Signup).where(Signup.activity_id == act.id)
    rows = session.execute(keyset(stmt, [Signup.position], page)).scalars().all()

    def view(s: Signup) -> dict[str, Any]:
        return {
            "id": s.id,
            "position": s.position,
            "participant": s.participant,
            "age_group": age_group(s.age),
            "guardian": s.guardian,
            "status": s.status,
            "attended": s.attended,
        }

    return page_of(rows, page, key=lambda s: (s.position,), view=view)


def artisan(row: Artisan) -> dict[str, Any]:
    return {**row.model_dump(exclude={"created_at", "trades"}), "trades": [t for t in row.trades.split(",") if t]}


def artisans(session: Session, community: str | None, trade: str | None, page: PageQuery) -> Page[dict[str, Any]]:
    """Artisans by id, of a community, with a trade (substring of their trades)."""
    stmt = select(Artisan).where(Artisan.active.is_(True))
    if community is not None:
        stmt = stmt.where(Artisan.community == community)
    if trade is not None:
        stmt = stmt.where(Artisan.trades.contains(trade))
    rows = session.execute(keyset(stmt, [Artisan.id], page)).scalars().all()
    return page_of(rows, page, key=lambda a: (a.id,), view=artisan)


def repair_session(session: Session, row: RepairSession) -> dict[str, Any]:
    person = session.get(Artisan, row.artisan_id)
    taken = session.execute(
        select(func.count())
        .select_from(RepairBooking)
        .where(RepairBooking.session_id == row.id, RepairBooking.status != "cancelled")
    ).scalar_one()
    return {
        **row.model_dump(exclude={"created_at", "starts_at", "ends_at", "next_number"}),
        "artisan_name": person.name if person else "",
        "trades": [t for t in person.trades.split(",") if t] if person else [],
        "starts_at": shown(row.starts_at),
        "ends_at": shown(row.ends_at),
        "left": max(0, row.capacity - int(taken)),
    }


def repair_sessions(
    session: Session, community: str | None, artisan_id: str | None, after: datetime | None, page: PageQuery
) -> Page[dict[str, Any]]:
    """Sittings in time order."""
    stmt = select(RepairSession)
    if community is not None:
        stmt = stmt.where(RepairSession.community == community)
    if artisan_id is not None:
        stmt = stmt.where(RepairSession.artisan_id == artisan_id)
    if after is not None:
        stmt = stmt.where(RepairSession.starts_at >= after)
    rows = session.execute(keyset(stmt, [RepairSession.starts_at, RepairSession.id], page)).scalars().all()
    return page_of(rows, page, key=lambda r: (r.starts_at, r.id), view=lambda r: repair_session(session, r))


def repair_booking(session: Session, row: RepairBooking) -> dict[str, Any]:
    sitting = session.get(RepairSession, row.session_id)
    person = session.get(Artisan, row.artisan_id)
    return {
        "id": row.id,
        "session_id": row.session_id,
        "artisan_id": row.artisan_id,
        "artisan_name": person.name if person else "",
        "place": sitting.place if sitting else "",
        "starts_at": shown(sitting.starts_at) if sitting else None,
        "number": row.number,
        "slot_at": shown(row.slot_at),
        "item": row.item,
        "ticket_id": row.ticket_id,
        "status": row.status,
        "done_at": shown(row.done_at),
    }


def my_repairs(session: Session, who: Principal, page: PageQuery) -> Page[dict[str, Any]]:
    """The household's 小修小补 bookings, newest first."""
    stmt = select(RepairBooking).where(RepairBooking.household == household_of(who))
    rows = session.execute(keyset(stmt, [RepairBooking.created_at, RepairBooking.id], page, descending=True)).scalars()
    return page_of(list(rows), page, key=lambda b: (b.created_at, b.id), view=lambda b: repair_booking(session, b))


def room_booking(session: Session, row: RoomBooking) -> dict[str, Any]:
    room = session.get(Venue, row.venue_id)
    return {
        **row.model_dump(exclude={"created_at", "starts_at", "ends_at", "user"}),
        "venue_name": room.name if room else "",
        "starts_at": shown(row.starts_at),
        "ends_at": shown(row.ends_at),
    }


def room_bookings(
    session: Session, who: Principal, venue_id: str | None, status: str | None, page: PageQuery
) -> Page[dict[str, Any]]:
    """Bookings staff decide on (their communities'), or a resident's own, in time order."""
    stmt = select(RoomBooking)
    if who.has("staff", "operator"):
        served = None if who.has("operator") else who.community_filter()
        if served is not None:
            stmt = stmt.where(RoomBooking.community.in_(served))
    else:
        stmt = stmt.where(RoomBooking.user == who.sub)
    if venue_id is not None:
        stmt = stmt.where(RoomBooking.venue_id == venue_id)
    if status is not None:
        stmt = stmt.where(RoomBooking.status == status)
    rows = session.execute(keyset(stmt, [RoomBooking.starts_at, RoomBooking.id], page)).scalars().all()
    return page_of(rows, page, key=lambda b: (b.starts_at, b.id), view=lambda b: room_booking(session, b))
