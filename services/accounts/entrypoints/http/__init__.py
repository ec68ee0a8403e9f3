"""HTTP routes of the accounts service, mounted at ``/api/accounts`` (and the JWKS at the root)."""

from __future__ import annotations

from fastapi import APIRouter

from services.accounts.entrypoints.http import imports, keys, people, places, sessions, signin
from shared.service import ServiceContext


def build_router(ctx: ServiceContext) -> APIRouter:
    """The accounts routes; every one declares who may call it."""
    router = APIRouter()
    for resource in (signin, places, people, sessions, imports, keys):
        router.include_router(resource.router(ctx))
    return router


def build_root_router(ctx: ServiceContext) -> APIRouter:
    return keys.well_known(ctx)
