"""Events of the activities service on stream ``<prefix>:activities`` (source ``/linli/activities``).

A sign-up names its account (``user``, the principal id notify addresses) and whether the place is
for a child (``for_child``); a child's name and age never travel in an event (PIPL: the least data).
"""

from __future__ import annotations

from datetime import datetime

from shared.events.envelope import EventData
from shared.events.registry import event

SOURCE = "/linli/activities"


class ActivityFacts(EventData):
    """What every activity event says about the session."""

    activity_id: str
    title: str
    community: str
    venue_id: str
    venue_name: str | None = None
    starts_at: datetime


class SignupFacts(ActivityFacts):
    signup_id: str
    user: str
    for_child: bool = False


@event("cn.linli.activities.ActivityPublished.v1", SOURCE)
class ActivityPublished(ActivityFacts):
    series_id: str
    capacity: int
    ends_at: datetime
    organiser: str | None = None


@event("cn.linli.activities.ActivityCancelled.v1", SOURCE)
class ActivityCancelled(ActivityFacts):
    reason: str | None = None
    users: list[str] = []
    """Every account with a place or a waitlist entry: notify tells each of them."""


@event("cn.linli.activities.SignupConfirmed.v1", SOURCE)
class SignupConfirmed(SignupFacts):
    from_waitlist: bool = False


@event("cn.linli.activities.SignupWaitlisted.v1", SOURCE)
class SignupWaitlisted(SignupFacts):
    waiting_ahead: int
    """People ahead in the queue when this one joined."""


@event("cn.linli.activities.SpotOffered.v1", SOURCE)
class SpotOffered(SignupFacts):
    accept_by: datetime


@event("cn.linli.activities.SignupCancelled.v1", SOURCE)
class SignupCancelled(SignupFacts):
    reason: str
    """``cancelled`` (by the resident or staff), ``offer_expired`` or ``offer_declined``."""


@event("cn.linli.activities.ActivityReminderDue.v1", SOURCE)
class ActivityReminderDue(SignupFacts):
    location: str | None = None


@event("cn.linli.activities.AttendanceRecorded.v1", SOURCE)
class AttendanceRecorded(SignupFacts):
    attended: bool
    how: str
    """``scan`` (the QR at the door), ``staff`` (ticked on the roster) or ``no_show`` (nobody came)."""


@event("cn.linli.activities.SessionBooked.v1", SOURCE)
class SessionBooked(EventData):
    """A queue number or slot with a 小修小补 artisan; ``ticket_id`` when staff booked it from a ticket."""

    booking_id: str
    session_id: str
    artisan_id: str
    artisan_name: str
    community: str
    place: str
    starts_at: datetime
    number: int
    slot_at: datetime | None = None
    user: str
    item: str | None = None
    ticket_id: str | None = None


@event("cn.linli.activities.RepairCompleted.v1", SOURCE)
class RepairCompleted(EventData):
    """The artisan marked the job done; tickets resolves a linked ticket."""

    booking_id: str
    artisan_id: str
    artisan_name: str
    community: str
    user: str
    item: str | None = None
    ticket_id: str | None = None
    done_at: datetime


class RoomBookingFacts(EventData):
    booking_id: str
    venue_id: str
    venue_name: str
    community: str
    group_name: str
    user: str
    starts_at: datetime
    ends_at: datetime


@event("cn.linli.activities.RoomBookingRequested.v1", SOURCE)
class RoomBookingRequested(RoomBookingFacts):
    """A booking of a room that needs approval: the community's staff decide."""


@event("cn.linli.activities.RoomBooked.v1", SOURCE)
class RoomBooked(RoomBookingFacts):
    approved_by: str | None = None
    """Who approved it; None for a room that needs no approval."""
