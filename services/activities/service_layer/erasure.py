"""Erasing a resident from activities (``ResidentErased``): sign-ups, repair bookings, room bookings.

Attendance statistics stay (how many signed up, came, did not show; the participant's age for the
age reports): the sign-up's account and household become the tombstone and a child's name becomes
``child``. Places still held or waited for are given up first, so the waitlist moves on; the
``SignupCancelled`` this emits already names the tombstone, so nobody is notified in their place.
Repair and room bookings keep their times and status without the person (a booked repair may still
be done for its ticket); an artisan account of theirs loses its name and link.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from services.activities.adapters.orm import Activity, Artisan, RepairBooking, RoomBooking, Signup
from services.activities.service_layer import signups
from services.activities.service_layer.programme import ACTIVE
from shared.erasure import ERASED_TEXT, TOMBSTONE, retire
from shared.service import ServiceContext

ACTOR_COLUMNS = (Activity.organiser, RoomBooking.decided_by)


def erase_person(ctx: ServiceContext, session: Session, sub: str, now: datetime) -> int:
    """Anonymise ``sub``'s sign-ups and bookings, giving up active places; the number of rows changed."""
    own = list(session.scalars(select(Signup).where(Signup.user == sub)))  # type: ignore[arg-type]
    for signup in own:
        anonymise_signup(signup)
        session.add(signup)
    session.flush()
    for signup in own:
        if signup.status in ACTIVE:
            signups.close(ctx, session, signup, "cancelled")
    changed = len(own)
    for booking in session.scalars(select(RepairBooking).where(RepairBooking.user == sub)):  # type: ignore[arg-type]
        booking.user = booking.household = TOMBSTONE
        booking.item = ""
        session.add(booking)
        changed += 1
    for room in session.scalars(select(RoomBooking).where(RoomBooking.user == sub)):  # type: ignore[arg-type]
        room.user = TOMBSTONE
        session.add(room)
        changed += 1
    for artisan in session.scalars(select(Artisan).where(Artisan.user == sub)):  # type: ignore[arg-type]
        artisan.name, artisan.user, artisan.active = ERASED_TEXT, None, False
        session.add(artisan)
        changed += 1
    return changed + retire(session, sub, ACTOR_COLUMNS)


def anonymise_signup(signup: Signup) -> None:
    """The sign-up without its person: account and household tombstoned, a child's name gone."""
    signup.user = signup.household = TOMBSTONE
    signup.participant = "self" if signup.participant == "self" else "child"
