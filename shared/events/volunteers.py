"""Events of the volunteers service (爱心敲门) on stream ``<prefix>:volunteers``.

They carry ids, community/building/unit and what a notification needs; never health notes,
conditions or full phone numbers.
"""

from __future__ import annotations

from datetime import datetime

from shared.events.envelope import EventData
from shared.events.registry import event

SOURCE = "/linli/volunteers"


class ElderEvent(EventData):
    elder_id: str
    community: str
    building: str | None = None
    unit: str | None = None


@event("cn.linli.volunteers.ElderRegistered.v1", SOURCE)
class ElderRegistered(ElderEvent):
    tier: str


@event("cn.linli.volunteers.ElderTierChanged.v1", SOURCE)
class ElderTierChanged(ElderEvent):
    from_tier: str
    to_tier: str


@event("cn.linli.volunteers.VolunteerJoined.v1", SOURCE)
class VolunteerJoined(EventData):
    volunteer_id: str
    user_id: str | None = None
    community: str
    team_id: str | None = None


@event("cn.linli.volunteers.PairingCreated.v1", SOURCE)
class PairingCreated(ElderEvent):
    pairing_id: str
    volunteer_id: str
    volunteer_user: str | None = None


@event("cn.linli.volunteers.PairingEnded.v1", SOURCE)
class PairingEnded(ElderEvent):
    pairing_id: str
    volunteer_id: str
    reason: str | None = None


@event("cn.linli.volunteers.VisitScheduled.v1", SOURCE)
class VisitScheduled(ElderEvent):
    visit_id: str
    due_at: datetime
    kind: str = "routine"
    campaign_id: str | None = None


@event("cn.linli.volunteers.VisitDue.v1", SOURCE)
class VisitDue(ElderEvent):
    visit_id: str
    due_at: datetime
    elder_name: str
    tier: str
    volunteer_users: list[str] = []
    address: str | None = None
    checklist: list[str] = []
    campaign_id: str | None = None
    team_leader: str | None = None
    kind: str | None = None


@event("cn.linli.volunteers.VisitCompleted.v1", SOURCE)
class VisitCompleted(ElderEvent):
    visit_id: str
    volunteer_id: str
    visited_at: datetime
    method: str
    minutes: int


@event("cn.linli.volunteers.VisitMissed.v1", SOURCE)
class VisitMissed(ElderEvent):
    visit_id: str
    due_at: datetime
    tier: str
    miss_count: int
    escalated_to: str | None = None
    team_leader: str | None = None
    critical: bool = False
    elder_name: str | None = None
    address: str | None = None
    volunteer_users: list[str] = []


@event("cn.linli.volunteers.VisitHazardFound.v1", SOURCE)
class VisitHazardFound(ElderEvent):
    hazard_id: str
    visit_id: str
    category: str
    description: str
    address: str | None = None
    reported_by: str | None = None


@event("cn.linli.volunteers.CampaignScheduled.v1", SOURCE)
class CampaignScheduled(EventData):
    campaign_id: str
    name: str
    due_at: datetime
    elder_count: int


@event("cn.linli.volunteers.VolunteerDigestReady.v1", SOURCE)
class VolunteerDigestReady(EventData):
    team_id: str
    team_leader: str | None = None
    week_start: datetime
    week_end: datetime | None = None
    team_name: str | None = None
    volunteers_idle: int | None = None
    visits_due: int
    visits_done: int
    visits_missed: int
    open_hazards: int
