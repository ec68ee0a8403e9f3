"""HTTP routes of the tickets service, mounted at /api/tickets: one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.tickets.entrypoints.http import categories, export, media, staff, tickets
from shared.service import ServiceContext


def build_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    for resource in (categories, tickets, media, staff, export):
        router.include_router(resource.build(ctx))
    return router
