"""HTTP routes of the library service, mounted at ``/api/library``: one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.library.entrypoints.http import catalog, circulation, partners, readers, reports
from services.library.service_layer import export
from shared.service import ServiceContext
from shared.web.export import export_routes
from shared.web.routers import merged


def build_router(ctx: ServiceContext) -> APIRouter:
    """The library's routes; every one declares who may call it."""
    return merged(
        [
            *(resource.router(ctx) for resource in (catalog, readers, circulation, reports, partners)),
            export_routes(export.export)(ctx),
        ]
    )
