"""The volunteers store (爱心敲门): teams, volunteers, elders, pairings, visits, logs, hazards, time bank."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, MetaData
from sqlmodel import Field, SQLModel

from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox
from shared.privacy import AccessLog

metadata = MetaData()
outbox = Outbox(metadata, default_stream="volunteers")
inbox = Inbox(metadata)
access_log = AccessLog(metadata)


def when(*, index: bool = False, nullable: bool = False):
    """A timezone-aware timestamp column (stored UTC)."""
    return Field(default=None if nullable else ..., sa_type=DateTime(timezone=True), index=index, nullable=nullable)


class VolunteersTable(SQLModel):
    metadata = metadata


class Team(VolunteersTable, table=True):
    """A volunteer team; ``leader`` and ``staff_contact`` are principal ids (JWT sub)."""

    __tablename__ = "team"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=64)
    community: str = Field(index=True, max_length=64)
    leader: str | None = Field(default=None, max_length=128)
    staff_contact: str | None = Field(default=None, max_length=128)


class Volunteer(VolunteersTable, table=True):
    """A volunteer; ``user_id`` is their principal id."""

    __tablename__ = "volunteer"

    id: str = Field(primary_key=True, max_length=64)
    user_id: str | None = Field(default=None, unique=True, max_length=128)
    name: str = Field(max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    community: str = Field(index=True, max_length=64)
    team_id: str | None = Field(default=None, index=True, max_length=64)
    skills: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    availability: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    weekly_cap: int = 3
    active: bool = True
    joined_at: datetime = when()


class Elder(VolunteersTable, table=True):
    """An elder of the survey, with their care tier and visit plan. Conditions/notes are health data."""

    __tablename__ = "elder"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=64)
    community: str = Field(index=True, max_length=64)
    estate: str | None = Field(default=None, max_length=64)
    building: str = Field(max_length=32)
    unit: str = Field(max_length=32)
    floor: int | None = None
    lives_alone: bool = False
    birth_year: int | None = None
    conditions: str = Field(default="", max_length=1000)
    notes: str = Field(default="", max_length=2000)
    emergency_name: str | None = Field(default=None, max_length=64)
    emergency_phone: str | None = Field(default=None, max_length=32)
    tier: str = Field(max_length=16)
    tier_reason: str = Field(default="", max_length=300)
    tier_changed_at: datetime = when()
    team_id: str | None = Field(default=None, index=True, max_length=64)
    former_volunteer_id: str | None = Field(default=None, max_length=64)
    rrule: str = Field(max_length=300)
    plan_anchor: datetime = when()
    planned_until: datetime = when()
    registered_at: datetime = when()


class PlanPause(VolunteersTable, table=True):
    """An exception to an elder's plan (hospital stay, travel): no visits fall due in ``[starts_at, ends_at)``."""

    __tablename__ = "plan_pause"

    id: int | None = Field(default=None, primary_key=True)
    elder_id: str = Field(index=True, max_length=64)
    starts_at: datetime = when()
    ends_at: datetime = when()
    reason: str = Field(max_length=200)
    created_by: str = Field(max_length=128)


class Pairing(VolunteersTable, table=True):
    """结对: one volunteer with one elder, from ``started_at`` until ``ended_at``."""

    __tablename__ = "pairing"

    id: str = Field(primary_key=True, max_length=64)
    elder_id: str = Field(index=True, max_length=64)
    volunteer_id: str = Field(index=True, max_length=64)
    started_at: datetime = when()
    ended_at: datetime | None = when(nullable=True)
    end_reason: str | None = Field(default=None, max_length=200)


class Campaign(VolunteersTable, table=True):
    """Extra visits for a set of elders (Spring Festival, heat wave), due together."""

    __tablename__ = "campaign"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    due_at: datetime = when()
    created_by: str = Field(max_length=128)
    created_at: datetime = when()


class Visit(VolunteersTable, table=True):
    """One visit occurrence (from a plan, a campaign, or logged ad hoc) and its claims.

    Planned and campaign visits have deterministic ids (elder and due time, campaign and elder), so
    two replicas materialising the same occurrence insert it once.
    """

    __tablename__ = "visit"

    id: str = Field(primary_key=True, max_length=64)
    elder_id: str = Field(index=True, max_length=64)
    kind: str = Field(default="routine", max_length=16)
    campaign_id: str | None = Field(default=None, index=True, max_length=64)
    due_at: datetime = when(index=True)
    status: str = Field(default="scheduled", index=True, max_length=16)
    due_fired_at: datetime | None = when(nullable=True)
    missed_at: datetime | None = when(nullable=True)
    escalated_at: datetime | None = when(nullable=True)
    done_at: datetime | None = when(nullable=True)


class VisitLog(VolunteersTable, table=True):
    """What happened on a visit, logged by a volunteer (amendable with history)."""

    __tablename__ = "visit_log"

    id: str = Field(primary_key=True, max_length=64)
    visit_id: str = Field(index=True, max_length=64)
    elder_id: str = Field(index=True, max_length=64)
    volunteer_id: str = Field(index=True, max_length=64)
    author: str = Field(max_length=128)
    visited_at: datetime = when(index=True)
    method: str = Field(max_length=16)
    minutes: int
    checklist: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    services: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notes: str = Field(default="", max_length=2000)
    created_at: datetime = when()
    updated_at: datetime = when()


class LogRevision(VolunteersTable, table=True):
    """One amendment of a visit log: who, when, why, and the values before and after."""

    __tablename__ = "visit_log_revision"

    id: int | None = Field(default=None, primary_key=True)
    log_id: str = Field(index=True, max_length=64)
    at: datetime = when()
    actor: str = Field(max_length=128)
    reason: str = Field(max_length=300)
    before: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    after: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Hazard(VolunteersTable, table=True):
    """A home-safety problem found on a visit, and the repair ticket it became."""

    __tablename__ = "hazard"

    id: str = Field(primary_key=True, max_length=64)
    visit_id: str = Field(index=True, max_length=64)
    log_id: str = Field(max_length=64)
    elder_id: str = Field(index=True, max_length=64)
    category: str = Field(max_length=32)
    description: str = Field(max_length=500)
    location: str = Field(default="", max_length=100)
    status: str = Field(default="open", index=True, max_length=16)
    ticket_id: str | None = Field(default=None, max_length=64)
    resolution: str | None = Field(default=None, max_length=2000)
    found_at: datetime = when()
    resolved_at: datetime | None = when(nullable=True)


class TimeBankEntry(VolunteersTable, table=True):
    """Hours given by a volunteer: a credit per logged visit, adjustments on corrections."""

    __tablename__ = "time_bank_entry"

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: str = Field(index=True, max_length=64)
    log_id: str | None = Field(default=None, max_length=64)
    hours: float
    kind: str = Field(max_length=16)
    at: datetime = when()
    actor: str = Field(max_length=128)


class DigestRun(VolunteersTable, table=True):
    """The weekly digest sent for one team and week (the claim that makes it once only)."""

    __tablename__ = "digest_run"

    team_id: str = Field(primary_key=True, max_length=64)
    week_start: datetime = Field(primary_key=True, sa_type=DateTime(timezone=True))
    sent_at: datetime = when()


class HealthConsent(VolunteersTable, table=True):
    """Consent to keep an elder's health data (PIPL art. 29: separate consent for sensitive data).

    ``given_by`` is who consented (the elder, or her guardian), ``recorded_by`` the principal who wrote
    it down; a consent is current until ``withdrawn_at``. Without a current one, the elder's
    conditions, notes and emergency phone are not stored.
    """

    __tablename__ = "health_consent"

    id: str = Field(primary_key=True, max_length=64)
    elder_id: str = Field(index=True, max_length=64)
    given_by: str = Field(max_length=64)
    relation: str = Field(default="self", max_length=16)
    purpose: str = Field(max_length=300)
    consented_at: datetime = when()
    recorded_by: str = Field(max_length=128)
    recorded_at: datetime = when()
    withdrawn_at: datetime | None = when(nullable=True)
    withdrawn_by: str | None = Field(default=None, max_length=128)
    withdrawal_reason: str | None = Field(default=None, max_length=300)
