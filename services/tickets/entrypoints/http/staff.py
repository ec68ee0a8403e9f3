"""The duty roster (round-robin pools) and staff KPIs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from services.tickets.entrypoints.http.deps import Configurers, Staff
from services.tickets.entrypoints.http.schemas import DutyIn, DutyView, KpiView
from services.tickets.service_layer import kpis, scope, staff, views
from shared.service import ServiceContext
from shared.web import etags
from shared.web.fields import Month, QueryCode
from shared.web.pages import Page, Paging
from shared.web.runner import Runner

Pool = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
StaffId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]


def build(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["staff"])
    run = Runner(ctx.store)

    @router.get("/staff")
    async def list_staff(who: Configurers, page: Paging, pool: QueryCode = None) -> Page[DutyView]:
        """The duty roster (round-robin pools), by pool and staff id."""
        return await run.read(views.roster_page, pool, page)

    @router.get("/staff/{pool}/{staff_id}")
    async def get_staff(pool: Pool, staff_id: StaffId, who: Configurers, response: Response) -> DutyView:
        """One roster entry, with the ``ETag`` a conditional change sends."""

        def read(s):  # type: ignore[no-untyped-def]
            row = staff.get(s, pool, staff_id)
            return DutyView.model_validate(row), etags.tag(row, ignore=staff.BOOKKEEPING)

        return etags.answer(response, await run.read(read))

    @router.put("/staff/{pool}/{staff_id}", responses=etags.RESPONSES)
    async def put_staff(
        pool: Pool,
        staff_id: StaffId,
        body: DutyIn,
        who: Configurers,
        response: Response,
        if_match: etags.IfMatch = None,
    ) -> DutyView:
        """Add someone to a pool, or put them on or off duty; with ``If-Match``, only if nobody changed the entry
        since (else 412; round-robin assignments do not count as changes)."""

        def work(s):  # type: ignore[no-untyped-def]
            load = lambda: staff.find(s, pool, staff_id)  # noqa: E731
            etags.guard(s, f"tickets:staff:{pool}:{staff_id}", if_match, load, ignore=staff.BOOKKEEPING)
            row = staff.upsert(s, pool, staff_id, body.display_name, body.on_duty)
            return DutyView.model_validate(row), etags.stored_tag(s, row, ignore=staff.BOOKKEEPING)

        return etags.answer(response, await run(work))

    @router.get("/kpis")
    async def get_kpis(
        who: Staff,
        month: Annotated[Month | None, Query()] = None,
        category: QueryCode = None,
        community: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    ) -> KpiView:
        """12345 indicators per category and month, first-response median/p90, open backlog by age (of the
        caller's communities)."""
        return await run.read(
            kpis.compute,
            ctx.clock.now(),
            month=month,
            category=category,
            community=community,
            communities=scope.communities_of(who),
        )

    return router
