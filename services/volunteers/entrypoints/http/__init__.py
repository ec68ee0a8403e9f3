"""HTTP routes of the volunteers service (爱心敲门), mounted at /api/volunteers: one module per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.volunteers.entrypoints.http import elders, pairings, privacy, reports, teams, visits, volunteers
from services.volunteers.service_layer import export
from shared.service import ServiceContext
from shared.web.export import export_routes
from shared.web.routers import merged


def build_router(ctx: ServiceContext) -> APIRouter:
    return merged(
        [
            *(resource.routes(ctx) for resource in (teams, volunteers, elders, pairings, visits, reports, privacy)),
            export_routes(export.export)(ctx),
        ]
    )
