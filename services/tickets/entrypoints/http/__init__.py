"""HTTP routes of the tickets service, mounted at /api/tickets: one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.tickets.entrypoints.http import categories, media, staff, tickets
from services.tickets.service_layer import export
from shared.service import ServiceContext
from shared.web.export import export_routes


def build_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    for resource in (categories, tickets, media, staff):
        router.include_router(resource.build(ctx))
    router.include_router(export_routes(export.export)(ctx))
    return router
