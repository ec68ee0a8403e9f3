"""Staff reports, each a cursor-paginated list."""

from __future__ import annotations

from fastapi import APIRouter

from services.library.entrypoints.http.deps import Staff
from services.library.entrypoints.http.schemas import BranchLoansView, HoldReportView, OverdueView, TransitView
from services.library.service_layer import reports
from shared.service import ServiceContext
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(prefix="/reports")
    run = Runner(ctx.store)

    @api.get("/loans-by-branch")
    async def report_loans(page: Paging, who: Staff) -> Page[BranchLoansView]:
        """Open loans per lending branch, by branch code."""
        return await run.read(reports.loans_by_branch, who, page)

    @api.get("/overdue")
    async def report_overdue(page: Paging, who: Staff) -> Page[OverdueView]:
        """Open loans past due, oldest first, with the masked card."""
        return await run.read(reports.overdue, who, ctx.clock.now(), page)

    @api.get("/in-transit")
    async def report_transit(page: Paging, who: Staff) -> Page[TransitView]:
        """Copies in transit, oldest first, with their age in days."""
        return await run.read(reports.in_transit, who, ctx.clock.now(), page)

    @api.get("/holds")
    async def report_holds(page: Paging, who: Staff) -> Page[HoldReportView]:
        """Active holds in queue order."""
        return await run.read(reports.holds_waiting, who, ctx.clock.now(), page)

    return api
