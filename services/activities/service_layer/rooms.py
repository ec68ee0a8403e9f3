"""Room bookings by residents' groups: no overlap with another booking or a session, approval where required.

The venue's row is locked (``FOR UPDATE``; SQLite's write lock) while overlaps are checked and the
booking written, so two groups asking for the same hour at once get one yes and one 409.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from services.activities.adapters.orm import Activity, RoomBooking, Venue
from services.activities.domain.schedule import is_open
from services.activities.service_layer import scope, venues
from shared.clock import as_utc
from shared.db.lookup import get_or_404
from shared.errors import Conflict, Forbidden, NotFound
from shared.events.activities import RoomBooked, RoomBookingRequested
from shared.identity import Principal
from shared.ids import new_id
from shared.service import ServiceContext

MISSING = "预约不存在 / no such room booking"
HOLDING = ("pending", "approved")


def _facts(room: Venue, row: RoomBooking) -> dict[str, Any]:
    return {
        "booking_id": row.id,
        "venue_id": room.id,
        "venue_name": room.name,
        "community": room.community,
        "group_name": row.group_name,
        "user": row.user,
        "starts_at": row.starts_at,
        "ends_at": row.ends_at,
    }


def overlaps(session: Session, venue_id: str, start: datetime, end: datetime) -> bool:
    """Whether a pending or approved booking, or a published session, uses the room in ``[start, end)``."""
    booked = session.execute(
        select(RoomBooking.id).where(
            RoomBooking.venue_id == venue_id,
            RoomBooking.status.in_(HOLDING),
            RoomBooking.starts_at < end,
            RoomBooking.ends_at > start,
        )
    ).first()
    busy = session.execute(
        select(Activity.id).where(
            Activity.venue_id == venue_id,
            Activity.status == "published",
            Activity.starts_at < end,
            Activity.ends_at > start,
        )
    ).first()
    return booked is not None or busy is not None


def request(
    ctx: ServiceContext,
    session: Session,
    who: Principal,
    venue_id: str,
    *,
    starts_at: datetime,
    minutes: int,
    group_name: str,
    purpose: str = "",
) -> RoomBooking:
    """Book a room for a group: approved at once, or pending where the room needs staff's approval."""
    room = venues.venue(session, venue_id, for_update=True)
    if not scope.may_book_room(who, room.community):
        raise Forbidden("只能预约本社区的场地 / book the rooms of your own community", code="other_community")
    end = starts_at + timedelta(minutes=minutes)
    if as_utc(starts_at) <= ctx.clock.now():
        raise Conflict("只能预约将来的时间 / book a time in the future", code="in_the_past")
    if not is_open(starts_at, end, venues.openings(session, room.id), venues.closures(session, room.id)):
        raise Conflict("场地在该时段不开放 / the room is not open then", code="venue_closed")
    if overlaps(session, room.id, starts_at, end):
        raise Conflict("该时段已被占用 / the room is taken then", code="room_taken")
    row = RoomBooking(
        id=new_id("K"),
        venue_id=room.id,
        community=room.community,
        group_name=group_name,
        purpose=purpose,
        user=who.sub,
        starts_at=starts_at,
        ends_at=end,
        status="pending" if room.needs_approval else "approved",
        created_at=ctx.clock.now(),
    )
    session.add_all([row, room])
    session.flush()
    if room.needs_approval:
        ctx.emit(session, RoomBookingRequested(**_facts(room, row)), subject=row.id)
    else:
        ctx.emit(session, RoomBooked(**_facts(room, row)), subject=row.id)
    return row


def booking(session: Session, who: Principal, booking_id: str) -> RoomBooking:
    """A booking its requester or the community's staff may see."""
    row = get_or_404(session, RoomBooking, booking_id, MISSING)
    if row.user != who.sub and not scope.serves_as_staff(who, row.community):
        raise NotFound(MISSING)
    return row


def decide(ctx: ServiceContext, session: Session, who: Principal, booking_id: str, approve: bool) -> RoomBooking:
    """Staff approve or refuse a pending booking, once."""
    row = booking(session, who, booking_id)
    if not scope.serves_as_staff(who, row.community):
        raise NotFound(MISSING)
    room = venues.venue(session, row.venue_id, for_update=True)
    won = session.execute(
        update(RoomBooking)
        .execution_options(synchronize_session=False)
        .where(RoomBooking.id == row.id, RoomBooking.status == "pending")
        .values(status="approved" if approve else "rejected", decided_by=who.sub)
    ).rowcount
    if won != 1:
        raise Conflict("该预约已处理 / the booking was already decided", code="already_decided")
    session.refresh(row)
    if approve:
        ctx.emit(session, RoomBooked(**_facts(room, row), approved_by=who.sub), subject=row.id)
    return row


def cancel(ctx: ServiceContext, session: Session, who: Principal, booking_id: str) -> RoomBooking:
    """The group or staff give the room back."""
    row = booking(session, who, booking_id)
    won = session.execute(
        update(RoomBooking)
        .execution_options(synchronize_session=False)
        .where(RoomBooking.id == row.id, RoomBooking.status.in_(HOLDING))
        .values(status="cancelled")
    ).rowcount
    if won != 1:
        raise Conflict("该预约已结束 / the booking has already ended", code="booking_closed")
    session.refresh(row)
    return row
