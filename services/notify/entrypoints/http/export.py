"""The caller's own data as JSON (PIPL: the right to a copy), from this service's store only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.notify.service_layer import export
from shared.identity import Principal
from shared.service import ServiceContext
from shared.web.auth import allow
from shared.web.export import ExportView
from shared.web.runner import Runner

Self = Annotated[Principal, Depends(allow(resident="self", volunteer="self"))]


def build_router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.get("/me/export")
    async def export_mine(who: Self) -> ExportView:
        """Everything this service keeps about me, by my account (a resident's or volunteer's own)."""
        return ExportView.model_validate(await run.read(lambda s: export.export(s, who.sub, ctx.clock.now())))

    return api
