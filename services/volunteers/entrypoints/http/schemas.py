"""Request bodies (``Body``: unknown fields refused, numbers finite, strings bounded) and response
views (``View``) of the volunteers routes. Lengths follow the columns of ``adapters/orm.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints

from services.volunteers.entrypoints.http.deps import Tier
from shared.clock import SHANGHAI
from shared.web.fields import Body, Code, Moment, View, printable


def _shanghai_if_naive(value: datetime) -> datetime:
    return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value


LocalMoment = Annotated[datetime, AfterValidator(_shanghai_if_naive), *Moment.__metadata__]
"""A :data:`~shared.web.fields.Moment` (2000-2099) where a time without a zone is a Shanghai local time."""


Label = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True), AfterValidator(printable)]
"""A name, community, or other short label (64 characters, the columns' width)."""
Part = Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True), AfterValidator(printable)]
"""A building or unit number."""
Sub = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S+$")]
"""A principal id (a token's ``sub``, e.g. ``volunteer:wang-guilan``)."""
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 -]{5,20}$")]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Word = Annotated[str, StringConstraints(min_length=1, max_length=32), AfterValidator(printable)]
"""A value of a small vocabulary (a skill, method, hazard category, checklist item …), checked by the domain."""
Weekday = Annotated[int, Field(ge=0, le=6)]
Minutes = Annotated[int, Field(gt=0, le=24 * 60)]


# -- requests ------------------------------------------------------------------------------------
class TeamIn(Body):
    name: Label = Field(examples=["爱心敲门志愿服务队"])
    community: Label = Field(examples=["3502"])
    leader: Sub | None = Field(default=None, examples=["volunteer:zhang-xiuqin"])
    staff_contact: Sub | None = Field(default=None, examples=["staff:li-yao"])


class VolunteerIn(Body):
    name: Label
    community: Label
    user_id: Sub | None = Field(default=None, examples=["volunteer:wang-guilan"])
    phone: Phone | None = None
    team_id: Code | None = None
    skills: list[Word] = Field(default=[], max_length=20)
    availability: list[Weekday] = Field(default=[], max_length=7, description="weekdays 0=Mon … 6=Sun")
    weekly_cap: int = Field(default=3, ge=1, le=21)


class VolunteerPatch(Body):
    phone: Phone | None = None
    skills: list[Word] | None = Field(default=None, max_length=20)
    availability: list[Weekday] | None = Field(default=None, max_length=7)
    weekly_cap: int | None = Field(default=None, ge=1, le=21)
    active: bool | None = None


class ConsentIn(Body):
    """A consent to keep an elder's health data: who gave it, for what; ``consented_at`` defaults to now."""

    given_by: Label = Field(examples=["郝连芳"])
    relation: Literal["self", "guardian", "family"] = "self"
    purpose: str = Field(
        min_length=1, max_length=300, examples=["爱心敲门走访：志愿者了解健康状况以便照护 / visits and care"]
    )
    consented_at: LocalMoment | None = None


class WithdrawIn(Body):
    reason: str = Field(default="", max_length=300)


class HealthIn(Body):
    """An elder's health data, replaced as a whole; needs a current consent."""

    conditions: str = Field(default="", max_length=1000)
    notes: str = Field(default="", max_length=2000)
    emergency_name: Label | None = None
    emergency_phone: Phone | None = None


class ElderIn(Body):
    """An elder of the survey; health data (conditions, notes, emergency phone) only with ``consent``."""

    name: Label
    community: Label = Field(examples=["3502"])
    estate: Label | None = Field(default=None, examples=["际华苑"])
    building: Part
    unit: Part
    floor: int | None = Field(default=None, ge=-3, le=60)
    lives_alone: bool = False
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    conditions: str = Field(default="", max_length=1000)
    notes: str = Field(default="", max_length=2000)
    emergency_name: Label | None = None
    emergency_phone: Phone | None = None
    tier: Tier
    tier_reason: str = Field(default="", max_length=300)
    team_id: Code | None = None
    rrule: str | None = Field(default=None, min_length=1, max_length=300, examples=["FREQ=WEEKLY;BYDAY=MO,TH"])
    former_volunteer_id: Code | None = None
    consent: ConsentIn | None = None


class TierIn(Body):
    tier: Tier
    reason: Reason


class PlanIn(Body):
    rrule: str = Field(min_length=1, max_length=300, examples=["FREQ=WEEKLY;BYDAY=TU"])


class PauseIn(Body):
    """A pause of the plan; times without a zone are Shanghai local times."""

    starts_at: LocalMoment
    ends_at: LocalMoment
    reason: str = Field(min_length=1, max_length=200, examples=["住院 / hospital stay"])


class PairingIn(Body):
    elder_id: Code
    volunteer_id: Code


class EndIn(Body):
    reason: str = Field(default="", max_length=200)


class HazardIn(Body):
    category: Word = Field(examples=["gas"])
    description: str = Field(min_length=1, max_length=500, examples=["燃气软管老化开裂"])
    location: str | None = Field(default=None, max_length=100, examples=["厨房"])


class LogIn(Body):
    """A visit log; ``visited_at`` without a zone is a Shanghai local time (default: now)."""

    elder_id: Code
    visit_id: Code | None = None
    volunteer_id: Code | None = None
    visited_at: LocalMoment | None = None
    method: Word = Field(default="door", examples=["door", "phone", "video"])
    minutes: Minutes
    checklist: dict[Word, Word] = Field(default={}, max_length=20)
    services: list[Label] = Field(default=[], max_length=20)
    notes: str = Field(default="", max_length=2000)
    hazards: list[HazardIn] = Field(default=[], max_length=10)


class LogPatch(Body):
    reason: Reason
    visited_at: LocalMoment | None = None
    method: Word | None = None
    minutes: Minutes | None = None
    checklist: dict[Word, Word] | None = Field(default=None, max_length=20)
    services: list[Label] | None = Field(default=None, max_length=20)
    notes: str | None = Field(default=None, max_length=2000)


class CampaignIn(Body):
    """Extra visits due together; ``due_at`` without a zone is a Shanghai local time."""

    name: str = Field(min_length=1, max_length=100, examples=["春节慰问 Spring Festival"])
    due_at: LocalMoment
    elder_ids: list[Code] = Field(default=[], max_length=1000)
    community: Label | None = None
    building: Part | None = None
    tiers: list[Tier] = Field(default=[], max_length=3)


# -- responses -----------------------------------------------------------------------------------
class TeamView(View):
    id: str
    name: str
    community: str
    leader: str | None
    staff_contact: str | None


class VolunteerView(View):
    id: str
    user_id: str | None
    name: str
    phone: str | None = Field(description="masked unless the caller is the volunteer, their team leader or staff")
    community: str
    team_id: str | None
    skills: list[str]
    availability: list[int]
    weekly_cap: int
    active: bool


class VolunteerDetail(VolunteerView):
    weekly_load: float = Field(description="visits a week the volunteer's current pairings ask for")


class TimeBankEntryView(View):
    hours: float
    kind: str
    log_id: str | None
    at: datetime
    actor: str


class TimeBankView(View):
    volunteer_id: str
    balance_hours: float
    entries: list[TimeBankEntryView]


class ElderSummary(View):
    id: str
    name: str
    community: str
    estate: str | None
    building: str
    unit: str
    floor: int | None
    tier: str
    lives_alone: bool
    team_id: str | None


class PlanView(View):
    rrule: str
    starts: datetime | None
    grace_hours: float


class PauseView(View):
    starts_at: datetime
    ends_at: datetime
    reason: str


class UpcomingVisit(View):
    id: str
    kind: str
    due_at: datetime


class PairedVolunteer(View):
    id: str
    name: str
    pairing_id: str


class Contact(View):
    name: str | None
    phone: str | None


class ElderView(ElderSummary):
    """An elder; ``conditions`` and ``notes`` are present only when ``health_visible``."""

    address: str
    birth_year: int | None
    tier_reason: str
    tier_changed_at: datetime | None
    former_volunteer_id: str | None
    plan: PlanView
    pauses: list[PauseView]
    upcoming_visits: list[UpcomingVisit]
    volunteers: list[PairedVolunteer]
    health_visible: bool
    health_consent: bool
    emergency_contact: Contact
    former_volunteer_hours: float | None = None
    conditions: str | None = None
    notes: str | None = None


class HealthView(View):
    """Health data; empty, with ``consent_id`` null, while no consent is current."""

    elder_id: str
    conditions: str
    notes: str
    emergency_contact: Contact
    consent_id: str | None


class ConsentView(View):
    id: str
    elder_id: str
    given_by: str
    relation: str
    purpose: str
    consented_at: datetime
    recorded_by: str
    recorded_at: datetime
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    withdrawal_reason: str | None
    current: bool


class AccessEntry(View):
    """One read of sensitive fields: who, when, which field groups of whom, and why; never the values."""

    id: int
    at: datetime
    actor: str
    roles: list[str]
    subject_kind: str
    subject_id: str
    fields: list[str]
    purpose: str
    community: str | None


class PairingView(View):
    id: str
    elder_id: str
    volunteer_id: str
    ended: bool


class PairingHistory(View):
    id: str
    volunteer_id: str
    volunteer_name: str
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None


class SurveyElder(View):
    id: str
    name: str
    floor: int | None
    tier: str
    lives_alone: bool
    paired: bool


class SurveyGroup(View):
    building: str
    unit: str
    elders: list[SurveyElder]
    paired: int
    unpaired: int
    tiers: dict[str, int]


class RevisionView(View):
    at: datetime
    actor: str
    reason: str
    before: dict[str, Any]
    after: dict[str, Any]


class LogView(View):
    id: str
    visit_id: str
    volunteer_id: str
    author: str
    visited_at: datetime
    method: str
    minutes: int
    checklist: dict[str, str]
    services: list[str]
    notes: str | None = Field(description="null unless the caller may see the elder's health data")
    updated_at: datetime
    history: list[RevisionView]


class HazardView(View):
    id: str
    category: str
    description: str
    location: str
    status: str
    ticket_id: str | None
    resolution: str | None
    resolved_at: datetime | None


class VisitView(View):
    id: str
    elder_id: str
    kind: str
    campaign_id: str | None
    due_at: datetime
    status: str
    announced_at: datetime | None
    missed_at: datetime | None
    escalated_at: datetime | None
    done_at: datetime | None
    logs: list[LogView]
    hazards: list[HazardView]


class LoggedVisit(VisitView):
    log_id: str


class MyVisit(View):
    visit_id: str
    kind: str
    due_at: datetime
    status: str
    overdue: bool
    elder: ElderSummary
    address: str


class CampaignView(View):
    id: str
    name: str
    due_at: datetime
    scheduled: list[str]
    skipped_paused: list[str]


class CoverageCounts(View):
    elders: int
    due: int
    done: int
    missed: int
    elders_visited: int
    visit_rate: float | None
    elder_coverage: float | None


class BuildingCoverage(CoverageCounts):
    building: str


class CoverageView(View):
    community: str
    month: str
    target_rate: float
    buildings: list[BuildingCoverage]
    total: CoverageCounts


class IdleVolunteer(View):
    volunteer_id: str
    name: str
    team_id: str | None
    last_visit: datetime | None


class HoursRow(View):
    volunteer_id: str
    name: str
    hours: float
    visits: int


class OpenHazard(View):
    hazard_id: str
    visit_id: str
    elder_id: str
    building: str
    unit: str
    category: str
    description: str
    status: str
    ticket_id: str | None
    found_at: datetime
