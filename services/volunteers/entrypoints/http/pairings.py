"""Pairings (结对): a volunteer with an elder, until ended."""

from __future__ import annotations

from fastapi import APIRouter

from services.volunteers.entrypoints.http.deps import Managers
from services.volunteers.entrypoints.http.schemas import EndIn, PairingIn, PairingView
from services.volunteers.service_layer import registry, views
from services.volunteers.service_layer.scope import reach
from shared.service import ServiceContext
from shared.web.fields import PathCode
from shared.web.runner import Runner


def routes(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    @router.post("/pairings", status_code=201)
    async def create_pairing(body: PairingIn, who: Managers) -> PairingView:
        """结对: pair a volunteer with an elder (PairingCreated), within the volunteer's weekly cap."""
        now = ctx.clock.now()
        return await run(
            lambda s: views.pairing_view(registry.pair(ctx, s, reach(s, who), body.elder_id, body.volunteer_id, now))
        )

    @router.post("/pairings/{pairing_id}/end")
    async def end_pairing(pairing_id: PathCode, body: EndIn, who: Managers) -> PairingView:
        """End a pairing (PairingEnded); it stays in the elder's history."""
        now = ctx.clock.now()
        return await run(
            lambda s: views.pairing_view(registry.end_pairing(ctx, s, reach(s, who), pairing_id, body.reason, now))
        )

    return router
