"""Signed-in sessions: mine, and a person's for their community's staff; each revocable."""

from __future__ import annotations

from fastapi import APIRouter

from services.accounts.entrypoints.http.deps import Anyone, RecordId, Staff
from services.accounts.entrypoints.http.schemas import SessionView
from services.accounts.service_layer import register, signin, views
from shared.service import ServiceContext
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.get("/me/sessions")
    async def my_sessions(page: Paging, who: Anyone) -> Page[SessionView]:
        """My sessions, newest first."""
        return await run.read(lambda s: views.sessions(s, register.person_by_sub(s, who.sub).id, page))

    @api.delete("/me/sessions/{session_id}")
    async def end_my_session(session_id: RecordId, who: Anyone) -> SessionView:
        """Revoke one of my sessions (a lost phone): its refresh token stops working at once."""
        return await run(
            lambda s: views.session(
                signin.revoke_session(s, register.person_by_sub(s, who.sub).id, session_id, ctx.clock.now())
            )
        )

    @api.get("/people/{person_id}/sessions")
    async def person_sessions(person_id: RecordId, page: Paging, who: Staff) -> Page[SessionView]:
        """A person's sessions (staff of their community)."""
        return await run.read(lambda s: views.sessions(s, register.person_in_scope(s, who, person_id).id, page))

    @api.delete("/people/{person_id}/sessions/{session_id}")
    async def end_person_session(person_id: RecordId, session_id: RecordId, who: Staff) -> SessionView:
        """Revoke a person's session."""
        return await run(
            lambda s: views.session(
                signin.revoke_session(s, register.person_in_scope(s, who, person_id).id, session_id, ctx.clock.now())
            )
        )

    return api
