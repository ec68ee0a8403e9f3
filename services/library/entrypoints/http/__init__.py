"""HTTP routes of the library service, mounted at ``/api/library``: one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.library.entrypoints.http import catalog, circulation, export, partners, readers, reports
from shared.service import ServiceContext


def build_router(ctx: ServiceContext) -> APIRouter:
    """The library's routes; every one declares who may call it."""
    router = APIRouter()
    for resource in (catalog, readers, circulation, reports, partners, export):
        router.include_router(resource.router(ctx))
    return router
