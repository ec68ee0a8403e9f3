"""HTTP routes of the accounts service, mounted at ``/api/accounts`` (and the JWKS at the root)."""

from __future__ import annotations

from fastapi import APIRouter

from services.accounts.entrypoints.http import imports, keys, people, places, sessions, signin
from shared.service import ServiceContext
from shared.web.routers import merged


def build_router(ctx: ServiceContext) -> APIRouter:
    """The accounts routes; every one declares who may call it."""
    resources = (signin, places, people, sessions, imports, keys)
    return merged([*(r.router(ctx) for r in resources)])


def build_root_router(ctx: ServiceContext) -> APIRouter:
    return keys.well_known(ctx)
