"""Volunteers: registration, their profile (phones masked), the time bank."""

from __future__ import annotations

from fastapi import APIRouter

from services.volunteers.entrypoints.http.deps import CommunityFilter, Managers, Members
from services.volunteers.entrypoints.http.schemas import (
    TimeBankView,
    VolunteerDetail,
    VolunteerIn,
    VolunteerPatch,
    VolunteerView,
)
from services.volunteers.service_layer import registry, views
from services.volunteers.service_layer.scope import reach
from shared.service import ServiceContext
from shared.web.fields import PathCode
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def routes(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    @router.post("/volunteers", status_code=201)
    async def add_volunteer(body: VolunteerIn, who: Managers) -> VolunteerView:
        """Register a volunteer (VolunteerJoined)."""
        now = ctx.clock.now()
        return await run(
            lambda s: views.volunteer_view(registry.add_volunteer(ctx, s, reach(s, who), now=now, **body.model_dump()))
        )

    @router.get("/volunteers")
    async def list_volunteers(who: Members, page: Paging, community: CommunityFilter = None) -> Page[VolunteerView]:
        """Volunteers in the caller's reach with masked phones, by id."""
        return await run.read(lambda s: views.volunteers(s, reach(s, who), page, community))

    @router.get("/volunteers/{volunteer_id}")
    async def show_volunteer(volunteer_id: PathCode, who: Members) -> VolunteerDetail:
        """A volunteer; the full phone only for themself, their team leader and staff (logged)."""
        now = ctx.clock.now()
        purpose = "GET /api/volunteers/volunteers/{volunteer_id}"
        return await run(lambda s: views.volunteer_detail(s, reach(s, who), volunteer_id, now, purpose))

    @router.patch("/volunteers/{volunteer_id}")
    async def change_volunteer(volunteer_id: PathCode, body: VolunteerPatch, who: Managers) -> VolunteerDetail:
        """Change a volunteer's phone, skills, availability, weekly cap or active flag."""
        now = ctx.clock.now()
        changes = body.model_dump(exclude_none=True)
        purpose = "PATCH /api/volunteers/volunteers/{volunteer_id}"

        def change(s):
            r = reach(s, who)
            return views.volunteer_changed(s, r, registry.update_volunteer(s, r, volunteer_id, changes), now, purpose)

        return await run(change)

    @router.get("/volunteers/{volunteer_id}/timebank")
    async def timebank(volunteer_id: PathCode, who: Members) -> TimeBankView:
        """The time-bank balance and entries: the volunteer themself, their team leader, staff."""
        return await run.read(lambda s: views.timebank(s, reach(s, who), volunteer_id))

    return router
