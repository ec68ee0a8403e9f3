"""小修小补: artisans, their sittings, queue numbers and slots, jobs done; a ticket turned into a booking.

Taking a number or a slot locks the sitting's row, so two residents never get the same one. A booking
made from a 小修小补 ticket carries its ``ticket_id`` in SessionBooked and RepairCompleted, which the
tickets service consumes (acknowledged with the booking, resolved when the artisan is done).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session

from services.activities.adapters.orm import Artisan, RepairBooking, RepairSession
from services.activities.service_layer.signups import household_of
from services.activities.service_layer.venues import require_serves
from shared.clock import as_utc
from shared.db.lookup import get_or_404
from shared.errors import Conflict, Invalid, NotFound
from shared.events.activities import RepairCompleted, SessionBooked
from shared.identity import Principal
from shared.ids import new_id
from shared.service import ServiceContext

NO_ARTISAN = "手艺人不存在 / no such artisan"
NO_SESSION = "没有这场服务 / no such repair session"
NO_BOOKING = "预约不存在 / no such booking"


def add_artisan(ctx: ServiceContext, session: Session, who: Principal, **fields: Any) -> Artisan:
    """Register a resident with a trade in a community the caller serves."""
    require_serves(who, fields["community"])
    trades = ",".join(t.strip() for t in fields.pop("trades") if t.strip())
    row = Artisan(id=fields.pop("id", None) or new_id("T"), trades=trades, created_at=ctx.clock.now(), **fields)
    session.add(row)
    session.flush()
    return row


def artisan(session: Session, artisan_id: str) -> Artisan:
    return get_or_404(session, Artisan, artisan_id, NO_ARTISAN)


def offer_session(
    ctx: ServiceContext,
    session: Session,
    who: Principal,
    artisan_id: str,
    *,
    place: str,
    starts_at: datetime,
    minutes: int,
    mode: str = "queue",
    slot_minutes: int = 20,
    capacity: int | None = None,
    id: str | None = None,
) -> RepairSession:
    """A sitting of the artisan: staff of their community, or the artisan themself."""
    person = artisan(session, artisan_id)
    if person.user != who.sub:
        require_serves(who, person.community)
    slots = max(1, minutes // slot_minutes)
    row = RepairSession(
        id=id or new_id("Q"),
        artisan_id=person.id,
        community=person.community,
        place=place,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        mode=mode,
        slot_minutes=slot_minutes,
        capacity=min(capacity, slots) if mode == "slots" and capacity else capacity or slots,
        created_at=ctx.clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def sitting(session: Session, session_id: str, *, for_update: bool = False) -> RepairSession:
    return get_or_404(session, RepairSession, session_id, NO_SESSION, for_update=for_update)


def book(
    ctx: ServiceContext,
    session: Session,
    who: Principal,
    session_id: str,
    *,
    item: str = "",
    slot_at: datetime | None = None,
    for_user: str | None = None,
    ticket_id: str | None = None,
) -> RepairBooking:
    """Take the next queue number, or a free slot, at a sitting (a resident, or staff for a ticket)."""
    row = sitting(session, session_id, for_update=True)
    if for_user is not None:  # staff booking for a ticket's reporter: staff of the sitting's community
        require_serves(who, row.community)
    now = ctx.clock.now()
    if as_utc(row.ends_at) <= now:
        raise Conflict("这场服务已结束 / the session is over", code="session_over")
    user = for_user or who.sub
    household = household_of(who) if for_user is None else for_user
    if ticket_id is not None:
        linked = session.execute(
            select(RepairBooking.id).where(RepairBooking.ticket_id == ticket_id, RepairBooking.status == "booked")
        ).first()
        if linked is not None:
            raise Conflict("该工单已有预约 / this ticket is already booked", code="ticket_already_booked")
    taken = int(
        session.execute(
            select(func.count())
            .select_from(RepairBooking)
            .where(RepairBooking.session_id == row.id, RepairBooking.status != "cancelled")
        ).scalar_one()
    )
    if taken >= row.capacity:
        raise Conflict("号已发完 / no numbers or slots left", code="session_full")
    if row.mode == "slots":
        slot_at = _free_slot(session, row, slot_at)
    elif slot_at is not None:
        raise Invalid("排队服务不按时段预约 / this session hands out numbers, not slots", code="not_slotted")
    booking = RepairBooking(
        id=new_id("B"),
        session_id=row.id,
        artisan_id=row.artisan_id,
        user=user,
        household=household,
        item=item,
        number=row.next_number,
        slot_at=slot_at,
        ticket_id=ticket_id,
        created_at=now,
    )
    row.next_number += 1
    session.add_all([row, booking])
    session.flush()
    person = artisan(session, row.artisan_id)
    event = SessionBooked(
        booking_id=booking.id,
        session_id=row.id,
        artisan_id=person.id,
        artisan_name=person.name,
        community=row.community,
        place=row.place,
        starts_at=row.starts_at,
        number=booking.number,
        slot_at=slot_at,
        user=user,
        item=item or None,
        ticket_id=ticket_id,
    )
    ctx.emit(session, event, subject=booking.id)
    return booking


def _free_slot(session: Session, row: RepairSession, slot_at: datetime | None) -> datetime:
    """The slot asked for if it is one of the sitting's and free, else the first free one."""
    start, step = as_utc(row.starts_at), timedelta(minutes=row.slot_minutes)
    slots = [start + step * i for i in range(row.capacity)]
    used = {
        as_utc(t)
        for t in session.execute(
            select(RepairBooking.slot_at).where(RepairBooking.session_id == row.id, RepairBooking.status != "cancelled")
        ).scalars()
        if t is not None
    }
    if slot_at is not None:
        wanted = as_utc(slot_at)
        if wanted not in slots:
            raise Invalid("不是这场服务的时段 / not a slot of this session", code="bad_slot")
        if wanted in used:
            raise Conflict("这个时段已被预约 / the slot is taken", code="slot_taken")
        return wanted
    return next(s for s in slots if s not in used)


def booking(session: Session, booking_id: str) -> RepairBooking:
    return get_or_404(session, RepairBooking, booking_id, NO_BOOKING)


def visible(session: Session, who: Principal, booking_id: str) -> RepairBooking:
    """A booking of the caller's household, of the artisan, or of a community the caller serves (staff)."""
    found = booking(session, booking_id)
    person = artisan(session, found.artisan_id)
    if found.household == household_of(who) or who.sub in (found.user, person.user):
        return found
    if who.has("staff", "operator") and who.serves(person.community):
        return found
    raise NotFound(NO_BOOKING)


def done(ctx: ServiceContext, session: Session, who: Principal, booking_id: str) -> RepairBooking:
    """The artisan (or staff) mark the job done, once; a linked ticket is resolved by the tickets service."""
    found = booking(session, booking_id)
    person = artisan(session, found.artisan_id)
    if person.user != who.sub and not (who.has("staff", "operator") and who.serves(person.community)):
        raise NotFound(NO_BOOKING)
    now = ctx.clock.now()
    won = session.execute(
        update(RepairBooking)
        .execution_options(synchronize_session=False)
        .where(RepairBooking.id == found.id, RepairBooking.status == "booked")
        .values(status="done", done_at=now)
    ).rowcount
    if won != 1:
        raise Conflict("预约已结束 / the booking is already closed", code="booking_closed")
    session.refresh(found)
    event = RepairCompleted(
        booking_id=found.id,
        artisan_id=person.id,
        artisan_name=person.name,
        community=person.community,
        user=found.user,
        item=found.item or None,
        ticket_id=found.ticket_id,
        done_at=now,
    )
    ctx.emit(session, event, subject=found.id)
    return found


def cancel(ctx: ServiceContext, session: Session, who: Principal, booking_id: str) -> RepairBooking:
    """Give the number or slot back (the household or staff)."""
    found = visible(session, who, booking_id)
    won = session.execute(
        update(RepairBooking)
        .execution_options(synchronize_session=False)
        .where(RepairBooking.id == found.id, RepairBooking.status == "booked")
        .values(status="cancelled")
    ).rowcount
    if won != 1:
        raise Conflict("预约已结束 / the booking is already closed", code="booking_closed")
    session.refresh(found)
    return found
