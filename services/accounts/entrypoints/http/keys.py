"""Signing keys: rotation (operators) and the public JWKS every service verifies tokens by."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from services.accounts.entrypoints.http.deps import Operator
from services.accounts.entrypoints.http.schemas import JwksView, KeyView
from services.accounts.service_layer import keys
from shared.service import ServiceContext
from shared.web.auth import public
from shared.web.jwks import forget_in_process
from shared.web.runner import Runner


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.post("/keys/rotate", status_code=201)
    async def rotate_key(_: Operator) -> KeyView:
        """Start signing with a new key; tokens of the previous one stay valid until they expire (no body)."""
        made = await run(lambda s: KeyView.model_validate(keys.rotate(s, ctx.clock.now())))
        forget_in_process()  # this process's services verify the new key's tokens at once
        return made

    return api


def well_known(ctx: ServiceContext) -> APIRouter:
    """``/.well-known/jwks.json`` at the root, where verifiers and identity libraries look for it."""
    api = APIRouter(tags=["accounts"])
    run = Runner(ctx.store)

    @api.get("/.well-known/jwks.json", dependencies=[Depends(public())])
    async def jwks(response: Response) -> JwksView:
        """The public keys that verify accounts' tokens (current and recently rotated-out)."""
        response.headers["Cache-Control"] = "public, max-age=300"
        return JwksView.model_validate({"keys": await run.read(keys.published, ctx.clock.now())})

    return api
