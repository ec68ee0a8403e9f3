"""Signing in: a one-time code by phone, tokens for it, refresh, sign-out. All public routes.

The code leaves the service only through the configured channel, after the challenge committed
(``adapters/codes.py``); no answer, event, stream or log carries it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from services.accounts.adapters import codes
from services.accounts.entrypoints.http.schemas import (
    CodeIn,
    CodeSentView,
    OidcCallbackIn,
    OidcStartView,
    RefreshIn,
    SignedOutView,
    SignInIn,
    TokenView,
)
from services.accounts.service_layer import oidc, register, signin
from shared.errors import DomainError
from shared.service import ServiceContext
from shared.web.auth import public
from shared.web.fields import printable
from shared.web.runner import Runner


class ChannelDown(DomainError):
    status = 503
    code = "code_channel_unavailable"


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _device(request: Request) -> str | None:
    agent = (request.headers.get("user-agent") or "")[:120]
    try:
        return printable(agent) or None
    except ValueError:
        return None


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(dependencies=[Depends(public())])
    run = Runner(ctx.store)

    def tokens(found: signin.Tokens | signin.Refusal) -> TokenView:
        if isinstance(found, signin.Refusal):
            raise found.error
        return TokenView(
            access_token=found.access_token,
            expires_in=found.expires_in,
            refresh_token=found.refresh_token,
            session_id=found.session_id,
        )

    @api.post("/auth/code", status_code=202)
    async def post_code(body: CodeIn, request: Request) -> CodeSentView:
        """Ask for a sign-in code by SMS (the same answer whether or not the number is registered)."""
        issued = await run(signin.request_code, body.phone, _client(request), ctx.clock.now())
        if issued.code is not None:
            if codes.dev_codes_enabled(ctx.settings):
                codes.keep_for_development(
                    ctx.settings, register.phone_hash(issued.phone), issued.code, issued.expires_at
                )
            try:
                await codes.send(issued.phone, issued.code)
            except codes.ChannelFailed:
                raise ChannelDown(
                    "验证码暂时无法发送，请稍后再试 / the code cannot be sent now, try again later"
                ) from None
        return CodeSentView(expires_in=int((issued.expires_at - ctx.clock.now()).total_seconds()))

    @api.post("/auth/token")
    async def post_token(body: SignInIn, request: Request) -> TokenView:
        """Sign in with the code: a 15-minute access token and a refresh token (5 wrong codes lock the phone)."""
        return tokens(await run(signin.verify_code, body.phone, body.code, _device(request), ctx.clock.now()))

    @api.post("/auth/refresh")
    async def post_refresh(body: RefreshIn) -> TokenView:
        """A new access token and a new refresh token; the old refresh token is spent."""
        return tokens(await run(signin.refresh, body.refresh_token, ctx.clock.now()))

    @api.post("/auth/signout")
    async def post_signout(body: RefreshIn) -> SignedOutView:
        """Sign out: the refresh token's session is revoked."""
        return SignedOutView(signed_out=await run(signin.sign_out, body.refresh_token, ctx.clock.now()))

    @api.post("/auth/oidc/start")
    async def post_oidc_start() -> OidcStartView:
        """Staff: start signing in at the OpenID Connect provider, authorization code + PKCE (no body)."""
        metadata = await oidc.discovery()
        started = await run(oidc.start, metadata, ctx.clock.now())
        return OidcStartView(authorization_url=started.authorization_url, state=started.state)

    @api.post("/auth/oidc/callback")
    async def post_oidc_callback(body: OidcCallbackIn, request: Request) -> TokenView:
        """Staff: finish signing in with the provider's ``code`` and ``state``; accounts' own tokens come back."""
        metadata = await oidc.discovery()
        claimed = await run(oidc.claim, body.state, ctx.clock.now())
        if isinstance(claimed, signin.Refusal):
            raise claimed.error
        verifier, nonce = claimed
        subject = await oidc.verified_identity(metadata, await oidc.exchange(metadata, body.code, verifier), nonce)
        return tokens(await run(oidc.sign_in, subject, _device(request), ctx.clock.now()))

    return api
