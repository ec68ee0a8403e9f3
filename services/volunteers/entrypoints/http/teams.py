"""Teams: their leader and the staff member missed visits escalate to."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.volunteers.entrypoints.http.deps import Staff, TeamReaders
from services.volunteers.entrypoints.http.schemas import TeamIn, TeamView
from services.volunteers.service_layer import registry, views
from services.volunteers.service_layer.scope import reach
from shared.service import ServiceContext
from shared.web import etags
from shared.web.fields import PathCode
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def routes(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    @router.put("/teams/{team_id}", responses=etags.RESPONSES)
    async def save_team(
        team_id: PathCode, body: TeamIn, who: Staff, response: Response, if_match: etags.IfMatch = None
    ) -> TeamView:
        """Create or update a team, its leader and the staff member misses escalate to; with ``If-Match``, only if
        nobody changed the team since (else 412)."""
        values = body.model_dump()

        def save(s):
            r = reach(s, who)
            etags.guard(s, f"volunteers:team:{team_id}", if_match, lambda: registry.team_to_save(s, r, team_id))
            team = registry.save_team(s, r, team_id=team_id, **values)
            return views.team_view(team), etags.stored_tag(s, team)

        return etags.answer(response, await run(save))

    @router.get("/teams/{team_id}")
    async def show_team(team_id: PathCode, who: TeamReaders, response: Response) -> TeamView:
        """A team in the caller's reach, with the ``ETag`` a conditional change sends."""

        def read(s):
            team = registry.team_in_reach(s, reach(s, who), team_id)
            return views.team_view(team), etags.tag(team)

        return etags.answer(response, await run.read(read))

    @router.get("/teams")
    async def list_teams(who: TeamReaders, page: Paging) -> Page[TeamView]:
        """Teams in the caller's reach, by id."""
        return await run.read(lambda s: views.teams(s, reach(s, who), page))

    return router
