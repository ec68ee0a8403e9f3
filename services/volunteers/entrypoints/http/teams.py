"""Teams: their leader and the staff member missed visits escalate to."""

from __future__ import annotations

from fastapi import APIRouter

from services.volunteers.entrypoints.http.deps import Staff, TeamReaders
from services.volunteers.entrypoints.http.schemas import TeamIn, TeamView
from services.volunteers.service_layer import registry, views
from services.volunteers.service_layer.scope import reach
from shared.service import ServiceContext
from shared.web.fields import PathCode
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def routes(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    @router.put("/teams/{team_id}")
    async def save_team(team_id: PathCode, body: TeamIn, who: Staff) -> TeamView:
        """Create or update a team, its leader and the staff member misses escalate to."""
        return await run(
            lambda s: views.team_view(registry.save_team(s, reach(s, who), team_id=team_id, **body.model_dump()))
        )

    @router.get("/teams")
    async def list_teams(who: TeamReaders, page: Paging) -> Page[TeamView]:
        """Teams in the caller's reach, by id."""
        return await run.read(lambda s: views.teams(s, reach(s, who), page))

    return router
