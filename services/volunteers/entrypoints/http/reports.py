"""Reports for the team and the community office: coverage, idle volunteers, hours, open hazards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.volunteers.entrypoints.http.deps import Community, Reporters
from services.volunteers.entrypoints.http.schemas import CoverageView, HoursRow, IdleVolunteer, OpenHazard
from services.volunteers.service_layer import reports
from services.volunteers.service_layer.scope import reach
from shared.service import ServiceContext
from shared.web.fields import Month
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def routes(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    @router.get("/reports/coverage")
    async def coverage(who: Reporters, community: Community, month: Annotated[Month, Query()]) -> CoverageView:
        """Visits due, done and missed per building in a month, and the visit rate against 100%."""
        return await run.read(lambda s: reports.coverage(s, reach(s, who), community, month))

    @router.get("/reports/idle-volunteers")
    async def idle(who: Reporters, page: Paging, days: Annotated[int, Query(ge=1, le=365)] = 30) -> Page[IdleVolunteer]:
        """Active volunteers without a logged visit in ``days`` days, by id."""
        now = ctx.clock.now()
        return await run.read(lambda s: reports.idle_page(s, reach(s, who), now, days, page))

    @router.get("/reports/hours")
    async def hours(who: Reporters, page: Paging) -> Page[HoursRow]:
        """Hours given per volunteer (time-bank balance) and their logged visits, by volunteer id."""
        return await run.read(lambda s: reports.hours(s, reach(s, who), page))

    @router.get("/reports/hazards")
    async def hazards(who: Reporters, page: Paging) -> Page[OpenHazard]:
        """Hazards found on visits that are not resolved yet, with their ticket, oldest first."""
        return await run.read(lambda s: reports.open_hazards(s, reach(s, who), page))

    return router
