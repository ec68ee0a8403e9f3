"""HTTP routes of the volunteers service (爱心敲门), mounted at /api/volunteers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from services.volunteers.adapters.orm import Elder, Team, Volunteer
from services.volunteers.domain.errors import Forbidden, VolunteersError
from services.volunteers.service_layer import planning, registry, reports, views, visits
from services.volunteers.service_layer.common import get_elder, get_visit, get_volunteer, shown
from shared.clock import SHANGHAI
from shared.service import ServiceContext
from shared.web.auth import Principal, allow

STAFF = allow("staff")
MANAGERS = allow("staff", "team_leader")
MEMBERS = allow("staff", "team_leader", "volunteer")
Tier = Literal["high_risk", "key", "general"]


def local_time(value: datetime | None) -> datetime | None:
    """Times given without a zone are Shanghai local times."""
    return value.replace(tzinfo=SHANGHAI) if value is not None and value.tzinfo is None else value


class TeamIn(BaseModel):
    name: str = Field(min_length=1, max_length=64, examples=["爱心敲门志愿服务队"])
    community: str = Field(min_length=1, max_length=64, examples=["3502"])
    leader: str | None = Field(default=None, max_length=128, examples=["volunteer:zhang-xiuqin"])
    staff_contact: str | None = Field(default=None, max_length=128, examples=["staff:li-yao"])


class VolunteerIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    community: str = Field(min_length=1, max_length=64)
    user_id: str | None = Field(default=None, max_length=128, examples=["volunteer:wang-guilan"])
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 -]{5,20}$")
    team_id: str | None = Field(default=None, max_length=64)
    skills: list[str] = []
    availability: list[int] = Field(default=[], description="weekdays 0=Mon … 6=Sun")
    weekly_cap: int = Field(default=3, ge=1, le=21)


class VolunteerPatch(BaseModel):
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 -]{5,20}$")
    skills: list[str] | None = None
    availability: list[int] | None = None
    weekly_cap: int | None = Field(default=None, ge=1, le=21)
    active: bool | None = None


class ElderIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    community: str = Field(min_length=1, max_length=64, examples=["3502"])
    estate: str | None = Field(default=None, max_length=64, examples=["际华苑"])
    building: str = Field(min_length=1, max_length=32)
    unit: str = Field(min_length=1, max_length=32)
    floor: int | None = Field(default=None, ge=-3, le=60)
    lives_alone: bool = False
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    conditions: str = Field(default="", max_length=1000)
    notes: str = Field(default="", max_length=2000)
    emergency_name: str | None = Field(default=None, max_length=64)
    emergency_phone: str | None = Field(default=None, pattern=r"^\+?[0-9 -]{5,20}$")
    tier: Tier
    tier_reason: str = Field(default="", max_length=300)
    team_id: str | None = Field(default=None, max_length=64)
    rrule: str | None = Field(default=None, max_length=300, examples=["FREQ=WEEKLY;BYDAY=MO,TH"])
    former_volunteer_id: str | None = Field(default=None, max_length=64)


class TierIn(BaseModel):
    tier: Tier
    reason: str = Field(min_length=1, max_length=300)


class PlanIn(BaseModel):
    rrule: str = Field(min_length=1, max_length=300, examples=["FREQ=WEEKLY;BYDAY=TU"])


class PauseIn(BaseModel):
    starts_at: datetime
    ends_at: datetime
    reason: str = Field(min_length=1, max_length=200, examples=["住院 / hospital stay"])


class PairingIn(BaseModel):
    elder_id: str
    volunteer_id: str


class EndIn(BaseModel):
    reason: str = Field(default="", max_length=200)


class HazardIn(BaseModel):
    category: str = Field(examples=["gas"])
    description: str = Field(min_length=1, max_length=500, examples=["燃气软管老化开裂"])
    location: str | None = Field(default=None, max_length=100, examples=["厨房"])


class LogIn(BaseModel):
    elder_id: str
    visit_id: str | None = None
    volunteer_id: str | None = None
    visited_at: datetime | None = None
    method: str = Field(default="door", examples=["door", "phone", "video"])
    minutes: int = Field(gt=0, le=24 * 60)
    checklist: dict[str, str] = {}
    services: list[str] = Field(default=[], max_length=20)
    notes: str = Field(default="", max_length=2000)
    hazards: list[HazardIn] = Field(default=[], max_length=10)


class LogPatch(BaseModel):
    reason: str = Field(min_length=1, max_length=300)
    visited_at: datetime | None = None
    method: str | None = None
    minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    checklist: dict[str, str] | None = None
    services: list[str] | None = None
    notes: str | None = Field(default=None, max_length=2000)


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["春节慰问 Spring Festival"])
    due_at: datetime
    elder_ids: list[str] = []
    community: str | None = None
    building: str | None = None
    tiers: list[Tier] = []


def build_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()

    @contextmanager
    def unit_of_work() -> Iterator[Session]:
        """One transaction; domain errors become 4xx answers and nothing is written."""
        try:
            with ctx.store.transaction() as session:
                yield session
        except VolunteersError as exc:
            raise HTTPException(exc.status, exc.message) from None

    def now() -> datetime:
        return ctx.clock.now()

    def full_phone_for(session: Session, actor: Principal, volunteer: Volunteer) -> bool:
        return (
            actor.has("staff")
            or actor.sub == volunteer.user_id
            or visits.is_team_leader(session, actor, volunteer.team_id)
        )

    # -- teams and volunteers ----------------------------------------------------------------------
    @router.put("/teams/{team_id}")
    def save_team(team_id: str, body: TeamIn, actor: Annotated[Principal, Depends(STAFF)]) -> dict:
        """Create or update a team, its leader and the staff member misses escalate to."""
        with unit_of_work() as s:
            team = registry.save_team(s, team_id=team_id, **body.model_dump())
            return team.model_dump()

    @router.get("/teams")
    def list_teams(actor: Annotated[Principal, Depends(MEMBERS)]) -> list[dict]:
        with unit_of_work() as s:
            return [t.model_dump() for t in s.exec(select(Team).order_by(Team.id))]

    @router.post("/volunteers", status_code=201)
    def add_volunteer(body: VolunteerIn, actor: Annotated[Principal, Depends(MANAGERS)]) -> dict:
        """Register a volunteer (VolunteerJoined)."""
        with unit_of_work() as s:
            volunteer = registry.add_volunteer(ctx, s, now=now(), **body.model_dump())
            return views.volunteer_view(volunteer)

    @router.get("/volunteers")
    def list_volunteers(actor: Annotated[Principal, Depends(MEMBERS)], community: str | None = None) -> list[dict]:
        """Volunteers with masked phones."""
        with unit_of_work() as s:
            query = select(Volunteer).order_by(Volunteer.id)
            if community:
                query = query.where(Volunteer.community == community)
            return [views.volunteer_view(v) for v in s.exec(query)]

    @router.get("/volunteers/{volunteer_id}")
    def show_volunteer(volunteer_id: str, actor: Annotated[Principal, Depends(MEMBERS)]) -> dict:
        """A volunteer; the full phone only for themself, their team leader and staff."""
        with unit_of_work() as s:
            volunteer = get_volunteer(s, volunteer_id)
            return views.volunteer_view(volunteer, full_phone=full_phone_for(s, actor, volunteer)) | {
                "weekly_load": round(registry.weekly_load(s, volunteer_id, now()), 2)
            }

    @router.patch("/volunteers/{volunteer_id}")
    def change_volunteer(
        volunteer_id: str, body: VolunteerPatch, actor: Annotated[Principal, Depends(MANAGERS)]
    ) -> dict:
        with unit_of_work() as s:
            volunteer = registry.update_volunteer(s, volunteer_id, body.model_dump(exclude_none=True))
            return views.volunteer_view(volunteer, full_phone=True) | {
                "weekly_load": round(registry.weekly_load(s, volunteer_id, now()), 2)
            }

    @router.get("/volunteers/{volunteer_id}/timebank")
    def timebank(volunteer_id: str, actor: Annotated[Principal, Depends(MEMBERS)]) -> dict:
        """The time-bank balance and entries: the volunteer themself, their team leader, staff."""
        with unit_of_work() as s:
            volunteer = get_volunteer(s, volunteer_id)
            if not full_phone_for(s, actor, volunteer):
                raise Forbidden("只能查看本人的时间银行 / you can only see your own time bank")
            return views.timebank(s, volunteer_id)

    # -- elders ------------------------------------------------------------------------------------
    @router.post("/elders", status_code=201)
    def register_elder(body: ElderIn, actor: Annotated[Principal, Depends(MANAGERS)]) -> dict:
        """Register an elder (ElderRegistered); visits are planned from the tier."""
        with unit_of_work() as s:
            elder = registry.register_elder(ctx, s, now=now(), **body.model_dump())
            return views.elder_view(s, actor, elder, now())

    @router.get("/elders")
    def list_elders(
        actor: Annotated[Principal, Depends(MEMBERS)],
        community: str | None = None,
        building: str | None = None,
        tier: Tier | None = None,
    ) -> list[dict]:
        """Elders without health data."""
        with unit_of_work() as s:
            query = select(Elder).order_by(Elder.community, Elder.building, Elder.unit, Elder.id)
            for column, value in ((Elder.community, community), (Elder.building, building), (Elder.tier, tier)):
                if value:
                    query = query.where(column == value)
            return [views.elder_summary(e) for e in s.exec(query)]

    @router.get("/elders/{elder_id}")
    def show_elder(elder_id: str, actor: Annotated[Principal, Depends(MEMBERS)]) -> dict:
        """An elder; conditions and notes only for the paired volunteers, the team leader and staff."""
        with unit_of_work() as s:
            return views.elder_view(s, actor, get_elder(s, elder_id), now())

    @router.get("/elders/{elder_id}/health")
    def elder_health(elder_id: str, actor: Annotated[Principal, Depends(MEMBERS)]) -> dict:
        """Health data: 403 unless the caller is paired with the elder, leads their team, or is staff."""
        with unit_of_work() as s:
            elder = get_elder(s, elder_id)
            if not views.can_see_health(s, actor, elder):
                raise Forbidden(
                    "健康信息仅限结对志愿者、队长和社区工作人员 / health data is for the paired "
                    "volunteers, the team leader and staff"
                )
            return {
                "elder_id": elder.id,
                "conditions": elder.conditions,
                "notes": elder.notes,
                "emergency_contact": {"name": elder.emergency_name, "phone": elder.emergency_phone},
            }

    @router.post("/elders/{elder_id}/tier")
    def change_tier(elder_id: str, body: TierIn, actor: Annotated[Principal, Depends(MANAGERS)]) -> dict:
        """Change the care tier (ElderTierChanged); the visit plan follows the new tier."""
        with unit_of_work() as s:
            elder = registry.change_tier(ctx, s, elder_id, body.tier, body.reason, now())
            return views.elder_view(s, actor, elder, now())

    @router.put("/elders/{elder_id}/plan")
    def set_plan(elder_id: str, body: PlanIn, actor: Annotated[Principal, Depends(MANAGERS)]) -> dict:
        """Replace an elder's visit plan with an RRULE (at least quarterly)."""
        with unit_of_work() as s:
            elder = get_elder(s, elder_id)
            planning.replan(ctx, s, elder, body.rrule, now())
            return views.elder_view(s, actor, elder, now())

    @router.post("/elders/{elder_id}/pauses", status_code=201)
    def pause(elder_id: str, body: PauseIn, actor: Annotated[Principal, Depends(MANAGERS)]) -> dict:
        """Pause the plan (hospital stay, travel): no visit falls due in the period."""
        with unit_of_work() as s:
            registry.pause_plan(
                s, elder_id, local_time(body.starts_at), local_time(body.ends_at), body.reason, actor.sub, now()
            )
            return views.elder_view(s, actor, get_elder(s, elder_id), now())

    @router.get("/elders/{elder_id}/pairings")
    def elder_pairings(elder_id: str, actor: Annotated[Principal, Depends(MEMBERS)]) -> list[dict]:
        """The pairing history of an elder."""
        with unit_of_work() as s:
            get_elder(s, elder_id)
            return views.pairings(s, elder_id)

    @router.get("/elders/{elder_id}/visits")
    def elder_visits(elder_id: str, actor: Annotated[Principal, Depends(MEMBERS)]) -> list[dict]:
        """Visits of an elder, newest first (log notes only for those who may see health data)."""
        with unit_of_work() as s:
            elder = get_elder(s, elder_id)
            notes = views.can_see_health(s, actor, elder)
            return [views.visit_view(s, v, with_notes=notes) for v in views.visits_of(s, elder_id)]

    # -- pairings ----------------------------------------------------------------------------------
    @router.post("/pairings", status_code=201)
    def create_pairing(body: PairingIn, actor: Annotated[Principal, Depends(MANAGERS)]) -> dict:
        """结对: pair a volunteer with an elder (PairingCreated)."""
        with unit_of_work() as s:
            p = registry.pair(ctx, s, body.elder_id, body.volunteer_id, now())
            return {"id": p.id, "elder_id": p.elder_id, "volunteer_id": p.volunteer_id}

    @router.post("/pairings/{pairing_id}/end")
    def end_pairing(pairing_id: str, body: EndIn, actor: Annotated[Principal, Depends(MANAGERS)]) -> dict:
        with unit_of_work() as s:
            p = registry.end_pairing(ctx, s, pairing_id, body.reason, now())
            return {"id": p.id, "elder_id": p.elder_id, "volunteer_id": p.volunteer_id, "ended": True}

    @router.get("/survey")
    def survey(actor: Annotated[Principal, Depends(MANAGERS)], community: str = Query(min_length=1)) -> list[dict]:
        """Per building and unit: elders, tiers and pairing coverage."""
        with unit_of_work() as s:
            return registry.survey(s, community)

    # -- visits ------------------------------------------------------------------------------------
    @router.post("/logs", status_code=201)
    def log_visit(body: LogIn, actor: Annotated[Principal, Depends(MEMBERS)]) -> dict:
        """Log a visit (VisitCompleted; VisitHazardFound per hazard); hours go to the time bank."""
        data = body.model_dump(exclude={"hazards"})
        data["visited_at"] = local_time(body.visited_at)
        with unit_of_work() as s:
            log = visits.log_visit(ctx, s, actor, now=now(), hazards=[h.model_dump() for h in body.hazards], **data)
            return views.visit_view(s, get_visit(s, log.visit_id), with_notes=True) | {"log_id": log.id}

    @router.patch("/logs/{log_id}")
    def amend_log(log_id: str, body: LogPatch, actor: Annotated[Principal, Depends(MEMBERS)]) -> dict:
        """Correct a log (its author or the team leader); history and hours are kept."""
        changes = body.model_dump(exclude={"reason"}, exclude_none=True)
        if "visited_at" in changes:
            changes["visited_at"] = local_time(changes["visited_at"])
        with unit_of_work() as s:
            log = visits.amend_log(s, actor, log_id, changes, body.reason, now())
            return views.log_view(s, log)

    @router.get("/my/visits")
    def my_visits(
        actor: Annotated[Principal, Depends(allow("volunteer"))], days: int = Query(default=7, ge=0, le=92)
    ) -> list[dict]:
        """The caller's to-do list: open visits of the elders paired with them, overdue first."""
        with unit_of_work() as s:
            return views.my_visits(s, actor.sub, now(), days)

    @router.get("/visits/{visit_id}")
    def show_visit(visit_id: str, actor: Annotated[Principal, Depends(MEMBERS)]) -> dict:
        """A visit with its log, hazards and their repair tickets."""
        with unit_of_work() as s:
            visit = get_visit(s, visit_id)
            notes = views.can_see_health(s, actor, get_elder(s, visit.elder_id))
            return views.visit_view(s, visit, with_notes=notes)

    @router.post("/campaigns", status_code=201)
    def campaign(body: CampaignIn, actor: Annotated[Principal, Depends(MANAGERS)]) -> dict:
        """Extra visits for a set of elders, due together (CampaignScheduled, VisitScheduled each)."""
        data = body.model_dump()
        data["due_at"] = local_time(body.due_at)
        with unit_of_work() as s:
            c, scheduled, skipped = visits.schedule_campaign(ctx, s, actor, now=now(), **data)
            return {
                "id": c.id,
                "name": c.name,
                "due_at": shown(c.due_at),
                "scheduled": scheduled,
                "skipped_paused": skipped,
            }

    # -- reports -----------------------------------------------------------------------------------
    @router.get("/reports/coverage")
    def coverage(
        actor: Annotated[Principal, Depends(MANAGERS)],
        community: str = Query(min_length=1),
        month: str = Query(pattern=r"^\d{4}-\d{2}$"),
    ) -> dict:
        """Visits due, done and missed per building in a month, and the visit rate against 100%."""
        with unit_of_work() as s:
            return reports.coverage(s, community, month)

    @router.get("/reports/idle-volunteers")
    def idle(actor: Annotated[Principal, Depends(MANAGERS)], days: int = Query(default=30, ge=1, le=365)) -> list:
        """Active volunteers without a logged visit in ``days`` days."""
        with unit_of_work() as s:
            return reports.idle_volunteers(s, now(), days)

    @router.get("/reports/hours")
    def hours(actor: Annotated[Principal, Depends(MANAGERS)]) -> list[dict]:
        with unit_of_work() as s:
            return reports.hours(s)

    @router.get("/reports/hazards")
    def hazards(actor: Annotated[Principal, Depends(MANAGERS)]) -> list[dict]:
        """Hazards found on visits that are not resolved yet, with their ticket."""
        with unit_of_work() as s:
            return reports.open_hazards(s)

    return router
