"""Reports for the team and the community office: coverage, idle volunteers, hours, open hazards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.volunteers.entrypoints.http.deps import Community, Managers
from services.volunteers.entrypoints.http.schemas import CoverageView, HoursRow, IdleVolunteer, OpenHazard
from services.volunteers.service_layer import reports
from shared.service import ServiceContext
from shared.web.fields import Month
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def routes(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    @router.get("/reports/coverage")
    async def coverage(who: Managers, community: Community, month: Annotated[Month, Query()]) -> CoverageView:
        """Visits due, done and missed per building in a month, and the visit rate against 100%."""
        return await run.read(reports.coverage, community, month)

    @router.get("/reports/idle-volunteers")
    async def idle(who: Managers, page: Paging, days: Annotated[int, Query(ge=1, le=365)] = 30) -> Page[IdleVolunteer]:
        """Active volunteers without a logged visit in ``days`` days, by id."""
        return await run.read(reports.idle_page, ctx.clock.now(), days, page)

    @router.get("/reports/hours")
    async def hours(who: Managers, page: Paging) -> Page[HoursRow]:
        """Hours given per volunteer (time-bank balance) and their logged visits, by volunteer id."""
        return await run.read(reports.hours, page)

    @router.get("/reports/hazards")
    async def hazards(who: Managers, page: Paging) -> Page[OpenHazard]:
        """Hazards found on visits that are not resolved yet, with their ticket, oldest first."""
        return await run.read(reports.open_hazards, page)

    return router
