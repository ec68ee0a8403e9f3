"""HTTP routes of the notify service, mounted at /api/notify: one module per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.notify.entrypoints.http import deliveries, export, inbox, notices, preferences, rules
from shared.service import ServiceContext


def build_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    for resource in (inbox, preferences, rules, deliveries, notices, export):
        router.include_router(resource.build_router(ctx))
    return router
