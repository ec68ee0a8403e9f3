"""Staff signing in through an external OpenID Connect provider: authorization code with PKCE (S256).

1. :func:`start` records a login (``state`` by its hash, a fresh PKCE verifier sealed, a ``nonce``) and
   returns the provider's authorization URL.
2. The provider sends the browser back with ``code`` and ``state``; :func:`claim` spends the login once
   (a replayed ``state`` is refused) and :func:`exchange` trades the code and the verifier for an ID token
   at the provider's token endpoint, outside any transaction.
3. :func:`verified_identity` checks the ID token by the provider's JWKS: signature, ``iss``, ``aud`` (our
   client id), ``exp``, ``iat`` and the ``nonce``. The person is the one an operator linked to
   ``<issuer>|<sub>`` (``PUT /people/{id}/oidc-subject``); then accounts issues its own tokens as for a code.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from sqlalchemy import select
from sqlmodel import Session

from services.accounts.adapters.orm import OidcLogin, Person
from services.accounts.adapters.sealing import seal, unseal
from services.accounts.config import accounts_settings
from services.accounts.service_layer import signin
from services.accounts.service_layer.signin import SignInRefused
from shared.errors import NotFound
from shared.web.jwks import ASYMMETRIC, jwks_keys

PURPOSE = "oidc-verifier"
LOGIN_TTL = timedelta(minutes=10)
_DISCOVERED: dict[str, dict[str, Any]] = {}


class NotConfigured(NotFound):
    code = "oidc_not_configured"


def _refused(why: str) -> SignInRefused:
    return SignInRefused(
        f"统一身份认证登录失败 / sign-in with the identity provider failed: {why}", code="oidc_refused"
    )


def _config():
    config = accounts_settings()
    if not (config.oidc_issuer and config.oidc_client_id and config.oidc_redirect_uri):
        raise NotConfigured("未配置统一身份认证 / no OpenID Connect provider is configured")
    return config


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


async def discovery() -> dict[str, Any]:
    """The provider's metadata (``/.well-known/openid-configuration``), fetched once per process."""
    issuer = _config().oidc_issuer or ""
    found = _DISCOVERED.get(issuer)
    if found is None:
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                answer = await client.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
                answer.raise_for_status()
                found = _DISCOVERED[issuer] = answer.json()
        except (httpx.HTTPError, ValueError):
            raise _refused("provider unreachable") from None
    return found


@dataclass
class Started:
    authorization_url: str
    state: str


def start(s: Session, metadata: dict[str, Any], now: datetime) -> Started:
    config = _config()
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    s.add(OidcLogin(state_hash=_hash(state), verifier_sealed=seal(verifier, PURPOSE), nonce=nonce, created_at=now))
    query = {
        "response_type": "code",
        "client_id": config.oidc_client_id,
        "redirect_uri": config.oidc_redirect_uri,
        "scope": config.oidc_scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return Started(f"{metadata['authorization_endpoint']}?{urlencode(query)}", state)


def claim(s: Session, state: str, now: datetime) -> tuple[str, str] | signin.Refusal:
    """Spend a login once: its PKCE verifier and nonce, or a refusal (unknown, used or stale ``state``)."""
    login = s.get(OidcLogin, _hash(state), with_for_update=True)
    if login is None or login.used_at is not None or signin._aware(login.created_at) + LOGIN_TTL <= now:
        return signin.Refusal(_refused("unknown or expired state"))
    login.used_at = now
    return unseal(login.verifier_sealed, PURPOSE), login.nonce


async def exchange(metadata: dict[str, Any], code: str, verifier: str) -> str:
    """The ID token for an authorization code (the provider checks the PKCE verifier)."""
    config = _config()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": config.oidc_redirect_uri,
        "client_id": config.oidc_client_id,
        "code_verifier": verifier,
    }
    if config.oidc_client_secret:
        form["client_secret"] = config.oidc_client_secret
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(metadata["token_endpoint"], data=form)
    except httpx.HTTPError:
        raise _refused("provider unreachable") from None
    if answer.status_code != 200:
        raise _refused("the provider refused the code")
    token = (
        answer.json().get("id_token") if answer.headers.get("content-type", "").startswith("application/json") else None
    )
    if not isinstance(token, str):
        raise _refused("no id_token")
    return token


async def verified_identity(metadata: dict[str, Any], id_token: str, nonce: str) -> str:
    """``<issuer>|<sub>`` of a valid ID token for us; refusal for anything else."""
    config = _config()
    keys = jwks_keys(metadata["jwks_uri"])
    try:
        signing = await asyncio.to_thread(keys.key_for, id_token)
        claims = jwt.decode(
            id_token,
            signing.key,
            algorithms=list(ASYMMETRIC),
            audience=config.oidc_client_id,
            issuer=config.oidc_issuer,
            leeway=30,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.PyJWTError:
        raise _refused("invalid id_token") from None
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise _refused("nonce mismatch")
    return f"{claims['iss']}|{claims['sub']}"


def sign_in(s: Session, subject: str, client: str | None, now: datetime) -> signin.Tokens | signin.Refusal:
    person = s.scalars(
        select(Person).where(Person.oidc_subject == subject, Person.left_at.is_(None))  # type: ignore[union-attr]
    ).first()
    if person is None:
        return signin.Refusal(_refused("this identity is not linked to a person of the register"))
    return signin.open_session(s, person, client, now)
