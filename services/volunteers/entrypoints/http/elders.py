"""Elders: registration, care tier, visit plan and pauses, health data and its consents, pairings, the survey."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.volunteers.entrypoints.http.deps import (
    BuildingFilter,
    Community,
    CommunityFilter,
    Managers,
    Members,
    Tier,
)
from services.volunteers.entrypoints.http.schemas import (
    ConsentIn,
    ConsentView,
    ElderIn,
    ElderSummary,
    ElderView,
    HealthIn,
    HealthView,
    PairingHistory,
    PauseIn,
    PlanIn,
    SurveyGroup,
    TierIn,
    VisitView,
    WithdrawIn,
)
from services.volunteers.service_layer import consent, registry, views
from services.volunteers.service_layer.scope import reach
from shared.service import ServiceContext
from shared.web import etags
from shared.web.fields import PathCode
from shared.web.pages import Page, Paging
from shared.web.runner import Runner

ELDER = {"response_model_exclude_unset": True}  # conditions and notes appear only for those allowed
BASE = "/api/volunteers"
KEPT = registry.ELDER_BOOKKEEPING


def _state(s, r, elder_id: str) -> str:
    """The elder's ETag (her row and pauses), after ``r``'s reach was checked."""
    return etags.tag(registry.elder_rows(s, r, elder_id), ignore=KEPT)


def _guard(s, r, elder_id: str, if_match: str | None) -> None:
    """412 unless ``If-Match`` names her current state (404 or 403 first when she is not the caller's to change)."""
    rows = lambda: registry.elder_rows(s, r, elder_id, manage=True)  # noqa: E731
    etags.guard(s, f"volunteers:elder:{elder_id}", if_match, rows, ignore=KEPT)


def routes(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    @router.post("/elders", status_code=201, **ELDER)
    async def register_elder(body: ElderIn, who: Managers) -> ElderView:
        """Register an elder (ElderRegistered); visits are planned from the tier.

        Health data (conditions, notes, emergency phone) needs ``consent`` (409 ``consent_required``).
        """
        now = ctx.clock.now()
        data = body.model_dump()
        purpose = f"POST {BASE}/elders"

        def register(s):
            r = reach(s, who)
            return views.elder_view(s, r, registry.register_elder(ctx, s, r, now=now, **data), now, purpose)

        return await run(register)

    @router.get("/elders")
    async def list_elders(
        who: Members,
        page: Paging,
        community: CommunityFilter = None,
        building: BuildingFilter = None,
        tier: Tier | None = None,
    ) -> Page[ElderSummary]:
        """Elders in the caller's reach without health data, by community, building, unit and id."""
        return await run.rows(
            views.elders, who, page, community=community, building=building, tier=tier, model=ElderSummary
        )

    @router.get("/elders/{elder_id}", **ELDER)
    async def show_elder(elder_id: PathCode, who: Members, response: Response) -> ElderView:
        """An elder; conditions and notes only for the paired volunteers, the team leader and staff (logged).

        Its ``ETag`` (the same for her health data) is what ``If-Match`` sends on ``PUT …/plan`` and ``…/health``."""
        now = ctx.clock.now()

        def read(s):
            r = reach(s, who)
            return views.elder(s, r, elder_id, now, f"GET {BASE}/elders/{{elder_id}}"), _state(s, r, elder_id)

        return etags.answer(response, await run(read))

    @router.get("/elders/{elder_id}/health")
    async def elder_health(elder_id: PathCode, who: Members, response: Response) -> HealthView:
        """Health data: for the paired volunteers, the team leader and staff of her community (logged)."""
        now = ctx.clock.now()
        purpose = f"GET {BASE}/elders/{{elder_id}}/health"

        def read(s):
            r = reach(s, who)
            return views.health(s, r, elder_id, now, purpose), _state(s, r, elder_id)

        return etags.answer(response, await run(read))

    @router.put("/elders/{elder_id}/health", responses=etags.RESPONSES)
    async def put_health(
        elder_id: PathCode, body: HealthIn, who: Managers, response: Response, if_match: etags.IfMatch = None
    ) -> HealthView:
        """Replace the elder's health data; 409 ``consent_required`` while no consent is current.

        With ``If-Match`` (her ETag): only if she was not changed since (else 412)."""
        now = ctx.clock.now()
        values = body.model_dump()
        purpose = f"PUT {BASE}/elders/{{elder_id}}/health"

        def save(s):
            r = reach(s, who)
            _guard(s, r, elder_id, if_match)
            view = views.health_of(s, r, consent.set_health(s, r, elder_id, values), now, purpose)
            return view, etags.stored_tag(s, registry.elder_rows(s, r, elder_id), ignore=KEPT)

        return etags.answer(response, await run(save))

    @router.get("/elders/{elder_id}/consents")
    async def list_consents(elder_id: PathCode, who: Managers, page: Paging) -> Page[ConsentView]:
        """Consents to keep the elder's health data, current and withdrawn, oldest first."""
        return await run.read(lambda s: consent.consents(s, reach(s, who), elder_id, page))

    @router.post("/elders/{elder_id}/consents", status_code=201)
    async def give_consent(elder_id: PathCode, body: ConsentIn, who: Managers) -> ConsentView:
        """Record a consent (who gave it, for what purpose, when); the caller is recorded as its recorder."""
        now = ctx.clock.now()
        data = body.model_dump()
        return await run(lambda s: consent.consent_view(consent.give(s, reach(s, who), elder_id, now=now, **data)))

    @router.post("/elders/{elder_id}/consents/{consent_id}/withdraw")
    async def withdraw_consent(
        elder_id: PathCode, consent_id: PathCode, body: WithdrawIn, who: Managers
    ) -> ConsentView:
        """Withdraw a consent: with none left current, conditions, notes and the emergency phone are erased."""
        now = ctx.clock.now()
        return await run(
            lambda s: consent.consent_view(consent.withdraw(s, reach(s, who), elder_id, consent_id, body.reason, now))
        )

    @router.post("/elders/{elder_id}/tier", **ELDER)
    async def change_tier(elder_id: PathCode, body: TierIn, who: Managers) -> ElderView:
        """Change the care tier (ElderTierChanged); the visit plan follows the new tier."""
        now = ctx.clock.now()
        purpose = f"POST {BASE}/elders/{{elder_id}}/tier"

        def change(s):
            r = reach(s, who)
            return views.elder_view(
                s, r, registry.change_tier(ctx, s, r, elder_id, body.tier, body.reason, now), now, purpose
            )

        return await run(change)

    @router.put("/elders/{elder_id}/plan", responses=etags.RESPONSES, **ELDER)
    async def set_plan(
        elder_id: PathCode, body: PlanIn, who: Managers, response: Response, if_match: etags.IfMatch = None
    ) -> ElderView:
        """Replace an elder's visit plan with an RRULE (at least quarterly).

        With ``If-Match`` (her ETag): only if she was not changed since (else 412)."""
        now = ctx.clock.now()
        purpose = f"PUT {BASE}/elders/{{elder_id}}/plan"

        def plan(s):
            r = reach(s, who)
            _guard(s, r, elder_id, if_match)
            view = views.elder_view(s, r, registry.set_plan(ctx, s, r, elder_id, body.rrule, now), now, purpose)
            return view, etags.stored_tag(s, registry.elder_rows(s, r, elder_id), ignore=KEPT)

        return etags.answer(response, await run(plan))

    @router.post("/elders/{elder_id}/pauses", status_code=201, **ELDER)
    async def pause(elder_id: PathCode, body: PauseIn, who: Managers) -> ElderView:
        """Pause the plan (hospital stay, travel): no visit falls due in the period."""
        now = ctx.clock.now()
        purpose = f"POST {BASE}/elders/{{elder_id}}/pauses"

        def paused(s):
            r = reach(s, who)
            elder = registry.pause_plan(s, r, elder_id, body.starts_at, body.ends_at, body.reason, now)
            return views.elder_view(s, r, elder, now, purpose)

        return await run(paused)

    @router.get("/elders/{elder_id}/pairings")
    async def elder_pairings(elder_id: PathCode, who: Members, page: Paging) -> Page[PairingHistory]:
        """The pairing history of an elder, oldest first."""
        return await run.read(lambda s: views.pairings(s, reach(s, who), elder_id, page))

    @router.get("/elders/{elder_id}/visits")
    async def elder_visits(elder_id: PathCode, who: Members, page: Paging) -> Page[VisitView]:
        """Visits of an elder, newest first (log notes, logged, only for those who may see health data)."""
        now = ctx.clock.now()
        purpose = f"GET {BASE}/elders/{{elder_id}}/visits"
        return await run(lambda s: views.visits_of(s, reach(s, who), elder_id, page, now, purpose))

    @router.get("/survey")
    async def survey(who: Managers, community: Community, page: Paging) -> Page[SurveyGroup]:
        """Per building and unit: elders, tiers and pairing coverage (a team leader: their teams' elders)."""
        return await run.read(lambda s: views.survey(s, reach(s, who), community, page))

    return router
