"""HTTP routes of the tickets service, mounted at /api/tickets: one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.tickets.entrypoints.http import categories, media, staff, tickets
from services.tickets.service_layer import export
from shared.service import ServiceContext
from shared.web.export import export_routes
from shared.web.routers import merged


def build_router(ctx: ServiceContext) -> APIRouter:
    resources = (categories, tickets, media, staff)
    return merged([*(r.build(ctx) for r in resources), export_routes(export.export)(ctx)])
