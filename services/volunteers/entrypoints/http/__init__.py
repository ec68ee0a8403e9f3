"""HTTP routes of the volunteers service (爱心敲门), mounted at /api/volunteers: one module per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.volunteers.entrypoints.http import elders, export, pairings, privacy, reports, teams, visits, volunteers
from shared.service import ServiceContext


def build_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    for resource in (teams, volunteers, elders, pairings, visits, reports, privacy, export):
        router.include_router(resource.routes(ctx))
    return router
