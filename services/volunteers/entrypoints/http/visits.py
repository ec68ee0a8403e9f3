"""Visits: logs and their corrections, a volunteer's to-do list, one visit, campaigns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.volunteers.entrypoints.http.deps import Authors, Managers, Members, VolunteerUser
from services.volunteers.entrypoints.http.schemas import (
    CampaignIn,
    CampaignView,
    LoggedVisit,
    LogIn,
    LogPatch,
    LogView,
    MyVisit,
    VisitView,
)
from services.volunteers.service_layer import views, visits
from services.volunteers.service_layer.scope import reach
from shared.service import ServiceContext
from shared.web.fields import PathCode
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def routes(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    @router.post("/logs", status_code=201)
    async def log_visit(body: LogIn, who: Members) -> LoggedVisit:
        """Log a visit (VisitCompleted; VisitHazardFound per hazard); hours go to the time bank."""
        now = ctx.clock.now()
        data = body.model_dump(exclude={"hazards"})
        hazards = [h.model_dump() for h in body.hazards]
        return await run(
            lambda s: views.logged(s, visits.log_visit(ctx, s, reach(s, who), now=now, hazards=hazards, **data))
        )

    @router.patch("/logs/{log_id}")
    async def amend_log(log_id: PathCode, body: LogPatch, who: Authors) -> LogView:
        """Correct a log (its author or the team leader); history and hours are kept."""
        now = ctx.clock.now()
        changes = body.model_dump(exclude={"reason"}, exclude_none=True)
        return await run(
            lambda s: views.log_view(s, visits.amend_log(s, reach(s, who), log_id, changes, body.reason, now))
        )

    @router.get("/my/visits")
    async def my_visits(
        who: VolunteerUser, page: Paging, days: Annotated[int, Query(ge=0, le=92)] = 7
    ) -> Page[MyVisit]:
        """The caller's to-do list: open visits of the elders paired with them, overdue first."""
        return await run.read(views.my_visits, who.sub, ctx.clock.now(), days, page)

    @router.get("/visits/{visit_id}")
    async def show_visit(visit_id: PathCode, who: Members) -> VisitView:
        """A visit with its log, hazards and their repair tickets (log notes, logged, for those allowed)."""
        now = ctx.clock.now()
        return await run(
            lambda s: views.visit(s, reach(s, who), visit_id, now, "GET /api/volunteers/visits/{visit_id}")
        )

    @router.post("/campaigns", status_code=201)
    async def campaign(body: CampaignIn, who: Managers) -> CampaignView:
        """Extra visits for a set of elders, due together (CampaignScheduled, VisitScheduled each)."""
        now = ctx.clock.now()
        data = body.model_dump()
        return await run(
            lambda s: views.campaign_view(visits.schedule_campaign(ctx, s, reach(s, who), now=now, **data))
        )

    return router
