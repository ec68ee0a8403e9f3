"""HTTP routes of the activities service, mounted at ``/api/activities``: one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.activities.entrypoints.http import activities, repairs, reports, rooms, signups, venues
from services.activities.service_layer import export
from shared.service import ServiceContext
from shared.web.export import export_routes
from shared.web.routers import merged


def build_router(ctx: ServiceContext) -> APIRouter:
    """The activities routes; every one declares who may call it, each role with its scope."""
    return merged(
        [
            *(resource.router(ctx) for resource in (venues, activities, signups, rooms, repairs, reports)),
            export_routes(export.export)(ctx),
        ]
    )
