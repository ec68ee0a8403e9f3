"""Elders: registration, care tier, visit plan and pauses, health data, pairings history, the survey."""

from __future__ import annotations

from fastapi import APIRouter

from services.volunteers.entrypoints.http.deps import (
    BuildingFilter,
    Community,
    CommunityFilter,
    Managers,
    Members,
    Tier,
)
from services.volunteers.entrypoints.http.schemas import (
    ElderIn,
    ElderSummary,
    ElderView,
    HealthView,
    PairingHistory,
    PauseIn,
    PlanIn,
    SurveyGroup,
    TierIn,
    VisitView,
)
from services.volunteers.service_layer import registry, views
from shared.service import ServiceContext
from shared.web.fields import PathCode
from shared.web.pages import Page, Paging
from shared.web.runner import Runner

ELDER = {"response_model_exclude_unset": True}  # conditions and notes appear only for those allowed


def routes(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    @router.post("/elders", status_code=201, **ELDER)
    async def register_elder(body: ElderIn, who: Managers) -> ElderView:
        """Register an elder (ElderRegistered); visits are planned from the tier."""
        now = ctx.clock.now()
        return await run(
            lambda s: views.elder_view(s, who, registry.register_elder(ctx, s, now=now, **body.model_dump()), now)
        )

    @router.get("/elders")
    async def list_elders(
        who: Members,
        page: Paging,
        community: CommunityFilter = None,
        building: BuildingFilter = None,
        tier: Tier | None = None,
    ) -> Page[ElderSummary]:
        """Elders without health data, by community, building, unit and id."""
        return await run.read(views.elders, page, community=community, building=building, tier=tier)

    @router.get("/elders/{elder_id}", **ELDER)
    async def show_elder(elder_id: PathCode, who: Members) -> ElderView:
        """An elder; conditions and notes only for the paired volunteers, the team leader and staff."""
        return await run.read(views.elder, who, elder_id, ctx.clock.now())

    @router.get("/elders/{elder_id}/health")
    async def elder_health(elder_id: PathCode, who: Members) -> HealthView:
        """Health data: 403 unless the caller is paired with the elder, leads their team, or is staff."""
        return await run.read(views.health, who, elder_id)

    @router.post("/elders/{elder_id}/tier", **ELDER)
    async def change_tier(elder_id: PathCode, body: TierIn, who: Managers) -> ElderView:
        """Change the care tier (ElderTierChanged); the visit plan follows the new tier."""
        now = ctx.clock.now()
        return await run(
            lambda s: views.elder_view(s, who, registry.change_tier(ctx, s, elder_id, body.tier, body.reason, now), now)
        )

    @router.put("/elders/{elder_id}/plan", **ELDER)
    async def set_plan(elder_id: PathCode, body: PlanIn, who: Managers) -> ElderView:
        """Replace an elder's visit plan with an RRULE (at least quarterly)."""
        now = ctx.clock.now()
        return await run(lambda s: views.elder_view(s, who, registry.set_plan(ctx, s, elder_id, body.rrule, now), now))

    @router.post("/elders/{elder_id}/pauses", status_code=201, **ELDER)
    async def pause(elder_id: PathCode, body: PauseIn, who: Managers) -> ElderView:
        """Pause the plan (hospital stay, travel): no visit falls due in the period."""
        now = ctx.clock.now()
        return await run(
            lambda s: views.elder_view(
                s, who, registry.pause_plan(s, elder_id, body.starts_at, body.ends_at, body.reason, who.sub, now), now
            )
        )

    @router.get("/elders/{elder_id}/pairings")
    async def elder_pairings(elder_id: PathCode, who: Members, page: Paging) -> Page[PairingHistory]:
        """The pairing history of an elder, oldest first."""
        return await run.read(views.pairings, elder_id, page)

    @router.get("/elders/{elder_id}/visits")
    async def elder_visits(elder_id: PathCode, who: Members, page: Paging) -> Page[VisitView]:
        """Visits of an elder, newest first (log notes only for those who may see health data)."""
        return await run.read(views.visits_of, who, elder_id, page)

    @router.get("/survey")
    async def survey(who: Managers, community: Community, page: Paging) -> Page[SurveyGroup]:
        """Per building and unit: elders, tiers and pairing coverage."""
        return await run.read(views.survey, community, page)

    return router
