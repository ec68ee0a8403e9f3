"""The activities store: venues with their hours and closures, activities, sign-ups."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import DateTime, Index, MetaData
from sqlmodel import Field, SQLModel

from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox

metadata = MetaData()
TZ = DateTime(timezone=True)
outbox = Outbox(metadata, default_stream="activities")
inbox = Inbox(metadata)


class ActivitiesTable(SQLModel):
    """Base of the activities tables (its own metadata)."""

    metadata = metadata


class Venue(ActivitiesTable, table=True):
    """A room of a community: what it is for, how many it holds, who may use it.

    ``guardian_under``: children younger than this come with a guardian (the children's room).
    ``needs_approval``: a group's booking of the room waits for staff.
    """

    __tablename__ = "venue"

    id: str = Field(primary_key=True, max_length=32)
    community: str = Field(index=True, max_length=64)
    name: str = Field(max_length=100)
    purpose: str = Field(default="", max_length=300)
    location: str | None = Field(default=None, max_length=200)
    capacity: int
    min_age: int | None = None
    max_age: int | None = None
    guardian_under: int | None = None
    needs_approval: bool = False
    created_at: datetime = Field(sa_type=TZ)


class VenueHours(ActivitiesTable, table=True):
    """A weekly opening rule: ``weekday`` 0 = Monday, times as ``HH:MM`` in Asia/Shanghai."""

    __tablename__ = "venue_hours"

    id: int | None = Field(default=None, primary_key=True)
    venue_id: str = Field(index=True, max_length=32)
    weekday: int
    opens: str = Field(max_length=5)
    closes: str = Field(max_length=5)


class VenueClosure(ActivitiesTable, table=True):
    """A day the room is closed (a holiday, repairs), whatever its weekly rule says."""

    __tablename__ = "venue_closure"

    id: int | None = Field(default=None, primary_key=True)
    venue_id: str = Field(index=True, max_length=32)
    day: date
    reason: str = Field(default="", max_length=200)


class Activity(ActivitiesTable, table=True):
    """One session people sign up for; a recurring activity is one row per occurrence (same ``series_id``).

    The row is locked (``FOR UPDATE`` on PostgreSQL, the write lock on SQLite) whenever places are
    counted, so that capacity holds under concurrent sign-ups; ``next_position`` orders the queue.
    """

    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_when", "community", "starts_at"),)

    id: str = Field(primary_key=True, max_length=32)
    series_id: str = Field(index=True, max_length=32)
    community: str = Field(max_length=64)
    venue_id: str = Field(index=True, max_length=32)
    title: str = Field(max_length=100)
    description: str = Field(default="", max_length=4000)
    starts_at: datetime = Field(index=True, sa_type=TZ)
    ends_at: datetime = Field(index=True, sa_type=TZ)
    capacity: int
    min_age: int | None = None
    max_age: int | None = None
    signup_opens: datetime | None = Field(default=None, sa_type=TZ)
    signup_closes: datetime | None = Field(default=None, sa_type=TZ)
    household_limit: int | None = None
    price_fen: int = 0
    organiser: str | None = Field(default=None, max_length=128)
    status: str = Field(default="published", max_length=16)
    cancel_reason: str | None = Field(default=None, max_length=300)
    next_position: int = 1
    created_at: datetime = Field(sa_type=TZ)


class Signup(ActivitiesTable, table=True):
    """A place asked for by ``user`` for themself or a child of their household.

    confirmed | waitlisted | offered (until ``offered_until``) -> cancelled | expired; ``attended`` is
    None until the door scan or the no-show sweep. Only the age is kept (for the age rule and reports),
    never a birth date or an ID number.
    """

    __tablename__ = "signup"
    __table_args__ = (
        Index("ix_signup_queue", "activity_id", "status", "position"),
        # a household's entries at one activity (every sign-up asks; without statistics SQLite's planner took the
        # queue index for ``household, status`` and read every entry of the activity), its sign-ups, its no-shows
        Index("ix_signup_household_activity", "household", "activity_id", "status"),
    )

    id: str = Field(primary_key=True, max_length=32)
    activity_id: str = Field(max_length=32)
    user: str = Field(index=True, max_length=128)
    household: str = Field(max_length=128)
    participant: str = Field(default="self", max_length=32)
    age: int | None = None
    guardian: bool = False
    status: str = Field(max_length=16)
    position: int
    offered_until: datetime | None = Field(default=None, index=True, sa_type=TZ)
    reminded_at: datetime | None = Field(default=None, sa_type=TZ)
    attended: bool | None = None
    checked_in_at: datetime | None = Field(default=None, sa_type=TZ)
    created_at: datetime = Field(sa_type=TZ)
    closed_at: datetime | None = Field(default=None, sa_type=TZ)


class Artisan(ActivitiesTable, table=True):
    """A resident with a trade in the 小修小补 workshop (谷春肖 mends clothes).

    ``trades`` are comma-separated; ``user`` is the artisan's app account, with which they mark jobs done.
    """

    __tablename__ = "artisan"

    id: str = Field(primary_key=True, max_length=32)
    community: str = Field(index=True, max_length=64)
    name: str = Field(max_length=64)
    trades: str = Field(max_length=300)
    user: str | None = Field(default=None, index=True, max_length=128)
    active: bool = True
    created_at: datetime = Field(sa_type=TZ)


class RepairSession(ActivitiesTable, table=True):
    """An artisan's sitting: a weekend morning in the square or weekday hours in the workshop.

    ``mode`` ``queue`` hands out numbers up to ``capacity``; ``slots`` books ``slot_minutes`` slots.
    The row is locked while a number or slot is taken.
    """

    __tablename__ = "repair_session"
    __table_args__ = (Index("ix_repair_session_when", "community", "starts_at"),)

    id: str = Field(primary_key=True, max_length=32)
    artisan_id: str = Field(index=True, max_length=32)
    community: str = Field(max_length=64)
    place: str = Field(max_length=100)
    starts_at: datetime = Field(sa_type=TZ)
    ends_at: datetime = Field(sa_type=TZ)
    mode: str = Field(default="queue", max_length=8)
    slot_minutes: int = 20
    capacity: int = 20
    next_number: int = 1
    created_at: datetime = Field(sa_type=TZ)


class RepairBooking(ActivitiesTable, table=True):
    """A queue number or slot with an artisan; ``ticket_id`` links a 小修小补 ticket it came from."""

    __tablename__ = "repair_booking"
    __table_args__ = (Index("ix_repair_booking_session", "session_id", "status"),)

    id: str = Field(primary_key=True, max_length=32)
    session_id: str = Field(max_length=32)
    artisan_id: str = Field(max_length=32)
    user: str = Field(index=True, max_length=128)
    household: str = Field(index=True, max_length=128)
    item: str = Field(default="", max_length=200)
    number: int
    slot_at: datetime | None = Field(default=None, sa_type=TZ)
    ticket_id: str | None = Field(default=None, index=True, max_length=64)
    status: str = Field(default="booked", max_length=16)
    created_at: datetime = Field(sa_type=TZ)
    done_at: datetime | None = Field(default=None, sa_type=TZ)


class RoomBooking(ActivitiesTable, table=True):
    """A residents' group's use of a room (the dance team in the sports room): pending | approved |
    rejected | cancelled. The venue row is locked while overlaps are checked, so none is double-booked."""

    __tablename__ = "room_booking"
    __table_args__ = (Index("ix_room_booking_when", "venue_id", "starts_at"),)

    id: str = Field(primary_key=True, max_length=32)
    venue_id: str = Field(max_length=32)
    community: str = Field(max_length=64)
    group_name: str = Field(max_length=100)
    purpose: str = Field(default="", max_length=300)
    user: str = Field(index=True, max_length=128)
    starts_at: datetime = Field(sa_type=TZ)
    ends_at: datetime = Field(sa_type=TZ)
    status: str = Field(max_length=16)
    decided_by: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(sa_type=TZ)
