"""Reports for the community office: the month by age group, room use by week."""

from __future__ import annotations

from fastapi import APIRouter

from services.activities.entrypoints.http.deps import Community, Staff
from services.activities.entrypoints.http.schemas import MonthlyView, RoomUseView
from services.activities.service_layer import reports
from shared.service import ServiceContext
from shared.web.fields import Month
from shared.web.runner import Runner


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.get("/reports/monthly")
    async def get_monthly(who: Staff, community: Community, month: Month) -> MonthlyView:
        """Sign-ups, waitlist, attendance and no-shows per age group of the sessions in a month."""
        return await run.read(reports.monthly, who, community, month)

    @api.get("/reports/room-use")
    async def get_room_use(who: Staff, community: Community, month: Month) -> RoomUseView:
        """Hours and sessions per room and ISO week."""
        return await run.read(reports.room_use, who, community, month)

    return api
