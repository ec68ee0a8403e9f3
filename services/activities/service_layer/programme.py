"""The programme: publishing activities (one-off or by RRULE) and an organiser's cancellation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from services.activities.adapters.orm import Activity, Signup, Venue
from services.activities.config import activities_settings
from services.activities.domain.schedule import ScheduleError, is_open, occurrences
from services.activities.service_layer import rooms, venues
from shared.db.lookup import get_or_404
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.events.activities import ActivityCancelled, ActivityPublished
from shared.identity import Principal
from shared.ids import new_id
from shared.service import ServiceContext

MISSING = "活动不存在 / no such activity"
HOLDING = ("confirmed", "offered")
"""Statuses that hold one of the places."""
ACTIVE = ("confirmed", "offered", "waitlisted")


def activity(session: Session, activity_id: str, *, for_update: bool = False) -> Activity:
    if not for_update:
        return get_or_404(session, Activity, activity_id, MISSING)
    found = session.execute(_LOCKED, {"id": activity_id}).scalar_one_or_none()
    if found is None:
        raise NotFound(MISSING)
    return found


_LOCKED = select(Activity).where(Activity.id == bindparam("id")).with_for_update()
"""An activity locked for a sign-up or a change: built once (``Session.get`` with a lock builds its query
on every call)."""


def facts(session: Session, row: Activity) -> dict[str, Any]:
    """The fields every activity event carries."""
    room = session.get(Venue, row.venue_id)
    return {
        "activity_id": row.id,
        "title": row.title,
        "community": row.community,
        "venue_id": row.venue_id,
        "venue_name": room.name if room else None,
        "starts_at": row.starts_at,
    }


def may_run(who: Principal, row: Activity) -> bool:
    """Staff of the activity's community, operators, or the organiser named on it."""
    return who.has("operator") or (who.has("staff") and who.serves(row.community)) or row.organiser == who.sub


def run_by(session: Session, who: Principal, activity_id: str, *, for_update: bool = False) -> Activity:
    """An activity the caller runs; anyone else is told it does not exist."""
    row = activity(session, activity_id, for_update=for_update)
    if not may_run(who, row):
        raise NotFound(MISSING)
    return row


def publish(
    ctx: ServiceContext,
    session: Session,
    who: Principal,
    *,
    venue_id: str,
    starts_at: datetime,
    minutes: int,
    rrule: str | None = None,
    capacity: int | None = None,
    min_age: int | None = None,
    max_age: int | None = None,
    signup_opens: datetime | None = None,
    signup_closes_minutes: int | None = None,
    **fields: Any,
) -> list[Activity]:
    """Publish an activity in a room the caller manages: one row per session, each checked against the
    room's hours and closures, capacity at most the room's."""
    room = venues.managed(session, who, venue_id)
    venues.venue(session, room.id, for_update=True)  # room bookings and sessions are checked one at a time
    settings = activities_settings()
    try:
        starts = occurrences(starts_at, rrule, settings.max_occurrences)
    except ScheduleError as exc:
        raise Invalid(str(exc), code=exc.code) from None
    places = capacity if capacity is not None else room.capacity
    if places > room.capacity:
        raise Invalid(f"名额超过场地容量 {room.capacity} / capacity above the room's", code="over_room_capacity")
    low = min_age if min_age is not None else room.min_age
    high = max_age if max_age is not None else room.max_age
    if low is not None and high is not None and low > high:
        raise Invalid("最小年龄大于最大年龄 / min_age is above max_age", code="bad_age_range")
    rules, closed = venues.openings(session, room.id), venues.closures(session, room.id)
    length = timedelta(minutes=minutes)
    for start in starts:
        if not is_open(start, start + length, rules, closed):
            raise Conflict("场地在该时段不开放 / the room is not open then", code="venue_closed")
        if rooms.overlaps(session, room.id, start, start + length):
            raise Conflict("该时段场地已被占用 / the room is taken then", code="room_taken")
    now, series = ctx.clock.now(), new_id("S")
    created = []
    for start in starts:
        closes = start - timedelta(minutes=signup_closes_minutes) if signup_closes_minutes else None
        row = Activity(
            id=new_id("A"),
            series_id=series,
            community=room.community,
            venue_id=room.id,
            starts_at=start,
            ends_at=start + length,
            capacity=places,
            min_age=low,
            max_age=high,
            signup_opens=signup_opens,
            signup_closes=closes,
            created_at=now,
            **fields,
        )
        session.add(row)
        created.append(row)
    session.flush()
    for row in created:
        event = ActivityPublished(
            **facts(session, row), series_id=series, capacity=row.capacity, ends_at=row.ends_at, organiser=row.organiser
        )
        ctx.emit(session, event, subject=row.id)
    return created


def cancel(ctx: ServiceContext, session: Session, who: Principal, activity_id: str, reason: str | None) -> Activity:
    """The organiser or staff call a session off: every place and waitlist entry ends, all are told."""
    row = run_by(session, who, activity_id, for_update=True)
    if row.status == "cancelled":
        raise Conflict("活动已取消 / the activity is already cancelled", code="activity_cancelled")
    if not who.has("staff", "operator") and row.organiser != who.sub:
        raise Forbidden("只有组织者或工作人员可以取消 / only the organiser or staff may cancel")
    now = ctx.clock.now()
    signups = (
        session.execute(select(Signup).where(Signup.activity_id == row.id, Signup.status.in_(ACTIVE))).scalars().all()
    )
    users = sorted({s.user for s in signups})
    for signup in signups:
        signup.status, signup.closed_at = "cancelled", now
        session.add(signup)
    row.status, row.cancel_reason = "cancelled", reason
    session.add(row)
    ctx.emit(session, ActivityCancelled(**facts(session, row), reason=reason, users=users), subject=row.id)
    return row
