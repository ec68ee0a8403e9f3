"""The tickets store: tables (SQLModel) and the service's outbox/inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, MetaData, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox

metadata = MetaData()
outbox = Outbox(metadata, default_stream="tickets")
inbox = Inbox(metadata)


class TicketsTable(SQLModel):
    metadata = metadata


class Category(TicketsTable, table=True):
    """A kind of report (an Open311 "service"): deadlines, routing and escalation contacts."""

    __tablename__ = "category"

    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=64)
    name_en: str = Field(default="", max_length=100)
    description: str = Field(default="", max_length=500)
    group: str = Field(default="", max_length=64)
    keywords: str = Field(default="", max_length=200)
    safety_critical: bool = False
    in_home: bool = False  # reports of it happen inside a home: public views show the community only
    response_hours: float = 24
    resolution_hours: float = 72
    pool: str = Field(default="", max_length=64)
    supervisor: str | None = Field(default=None, max_length=128)
    secretary: str | None = Field(default=None, max_length=128)
    attributes: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    templates: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active: bool = True


class Ticket(TicketsTable, table=True):
    """One report and its lifecycle, deadlines and escalation claims."""

    __tablename__ = "ticket"
    __table_args__ = (
        Index("uq_ticket_source_hazard", "source_hazard_id", unique=True),
        # the duplicate suggestion: newest reports of one building, or of a lat/lon box
        Index("ix_ticket_place", "community", "building", "created_at"),
        Index("ix_ticket_lat_lon", "lat", "lon"),
    )

    id: str = Field(primary_key=True, max_length=32)
    category: str = Field(index=True, max_length=64)
    title: str = Field(max_length=200)
    description: str = Field(max_length=4000)
    community: str | None = Field(default=None, max_length=64)  # looked up through ix_ticket_place
    building: str | None = Field(default=None, max_length=32)
    unit: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = None
    lon: float | None = None
    reporter: str | None = Field(default=None, index=True, max_length=128)
    contact: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attributes: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="submitted", index=True, max_length=32)
    close_reason: str | None = Field(default=None, max_length=32)
    assignee: str | None = Field(default=None, index=True, max_length=128)
    created_at: datetime = Field(index=True)
    updated_at: datetime
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    rating: int | None = None
    rating_comment: str | None = Field(default=None, max_length=1000)
    escalation_level: int = 0
    escalated_to: str | None = Field(default=None, max_length=128)
    response_l1_at: datetime | None = None
    response_l2_at: datetime | None = None
    resolution_l1_at: datetime | None = None
    resolution_l2_at: datetime | None = None
    source_hazard_id: str | None = Field(default=None, max_length=64)
    token: str | None = Field(default=None, index=True, max_length=64)
    via: str = Field(default="app", max_length=16)


class TicketPhoto(TicketsTable, table=True):
    """A stored photo (content-addressed file) attached to a ticket or a history entry."""

    __tablename__ = "ticket_photo"
    __table_args__ = (UniqueConstraint("ticket_id", "sha256", name="uq_photo_ticket_sha"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(index=True, max_length=32)
    history_id: int | None = None
    sha256: str = Field(max_length=64)
    kind: str = Field(max_length=8)
    size: int
    created_at: datetime
    display_sha256: str | None = Field(default=None, max_length=64)  # the copy views link (None: the original)
    display_kind: str | None = Field(default=None, max_length=8)


class TicketHistory(TicketsTable, table=True):
    """One transition of a ticket: who, when, what, with an optional note."""

    __tablename__ = "ticket_history"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(index=True, max_length=32)
    at: datetime
    actor: str | None = Field(default=None, max_length=128)
    action: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str = Field(max_length=32)
    note: str | None = Field(default=None, max_length=2000)


class Follower(TicketsTable, table=True):
    """A resident following a ticket (subscribes to its updates)."""

    __tablename__ = "ticket_follower"

    ticket_id: str = Field(primary_key=True, max_length=32)
    follower: str = Field(primary_key=True, max_length=128)
    created_at: datetime


class StaffDuty(TicketsTable, table=True):
    """A staff member (or artisan) in a category pool's round-robin roster."""

    __tablename__ = "staff_duty"

    pool: str = Field(primary_key=True, max_length=64)
    staff_id: str = Field(primary_key=True, max_length=128)
    display_name: str = Field(default="", max_length=64)
    on_duty: bool = True
    last_assigned_at: datetime | None = None


class ApiKey(TicketsTable, table=True):
    """An Open311 client's API key, stored as a SHA-256 hash."""

    __tablename__ = "open311_key"
    __table_args__ = (Index("uq_open311_key_hash", "key_hash", unique=True),)

    id: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=100)
    key_hash: str = Field(max_length=64)
    created_at: datetime
    revoked_at: datetime | None = None
