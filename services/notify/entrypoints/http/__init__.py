"""HTTP routes of the notify service, mounted at /api/notify: one module per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.notify.entrypoints.http import deliveries, inbox, notices, preferences, rules
from services.notify.service_layer import export
from shared.service import ServiceContext
from shared.web.export import export_routes
from shared.web.routers import merged


def build_router(ctx: ServiceContext) -> APIRouter:
    return merged(
        [
            *(resource.build_router(ctx) for resource in (inbox, preferences, rules, deliveries, notices)),
            export_routes(export.export)(ctx),
        ]
    )
