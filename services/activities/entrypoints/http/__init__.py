"""HTTP routes of the activities service, mounted at ``/api/activities``: one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.activities.entrypoints.http import activities, export, repairs, reports, rooms, signups, venues
from shared.service import ServiceContext


def build_router(ctx: ServiceContext) -> APIRouter:
    """The activities routes; every one declares who may call it, each role with its scope."""
    router = APIRouter()
    for resource in (venues, activities, signups, rooms, repairs, reports, export):
        router.include_router(resource.router(ctx))
    return router
