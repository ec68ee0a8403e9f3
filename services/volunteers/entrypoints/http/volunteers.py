"""Volunteers: registration, their profile (phones masked), the time bank."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.volunteers.entrypoints.http.deps import CommunityFilter, Managers, Members
from services.volunteers.entrypoints.http.schemas import (
    TimeBankView,
    VolunteerDetail,
    VolunteerIn,
    VolunteerPatch,
    VolunteerView,
)
from services.volunteers.service_layer import registry, scope, views
from services.volunteers.service_layer.scope import reach
from shared.service import ServiceContext
from shared.web import etags
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
    async def show_volunteer(volunteer_id: PathCode, who: Members, response: Response) -> VolunteerDetail:
        """A volunteer; the full phone only for themself, their team leader and staff (logged); with the
        ``ETag`` a conditional change sends."""
        now = ctx.clock.now()
        purpose = "GET /api/volunteers/volunteers/{volunteer_id}"

        def read(s):
            r = reach(s, who)
            view = views.volunteer_detail(s, r, volunteer_id, now, purpose)
            return view, etags.tag(scope.volunteer_in_reach(s, r, volunteer_id))

        return etags.answer(response, await run(read))

    @router.patch("/volunteers/{volunteer_id}", responses=etags.RESPONSES)
    async def change_volunteer(
        volunteer_id: PathCode, body: VolunteerPatch, who: Managers, response: Response, if_match: etags.IfMatch = None
    ) -> VolunteerDetail:
        """Change a volunteer's phone, skills, availability, weekly cap or active flag; with ``If-Match``, only if
        nobody changed the volunteer since (else 412)."""
        now = ctx.clock.now()
        changes = body.model_dump(exclude_none=True)
        purpose = "PATCH /api/volunteers/volunteers/{volunteer_id}"

        def change(s):
            r = reach(s, who)
            found = []  # the volunteer and their paired plans as read after the guard's lock (if any), in scope

            def load():
                found.append(registry.volunteer_to_change(s, r, volunteer_id))
                return registry.volunteer_record(found[0][0])

            etags.guard(s, f"volunteers:volunteer:{volunteer_id}", if_match, load)
            volunteer, plans = found[0] if found else registry.volunteer_to_change(s, r, volunteer_id)
            row = registry.change_volunteer(s, volunteer, changes)
            view = views.volunteer_changed(s, r, row, now, purpose, plans)
            return view, etags.tag(registry.volunteer_record(row))

        return etags.answer(response, await run(change))

    @router.get("/volunteers/{volunteer_id}/timebank")
    async def timebank(volunteer_id: PathCode, who: Members) -> TimeBankView:
        """The time-bank balance and entries: the volunteer themself, their team leader, staff."""
        return await run.read(lambda s: views.timebank(s, reach(s, who), volunteer_id))

    return router
