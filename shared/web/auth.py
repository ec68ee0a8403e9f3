"""Identity and roles: a bearer JWT becomes a :class:`Principal`; every route declares its roles.

Use ``Depends(allow(staff="community", operator="all"))`` on a route (or ``public()`` for open
ones): each role it admits with the scope the service layer narrows it to (:mod:`shared.identity`).
A missing or bad token answers 401, a valid token without one of the roles answers 403.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Annotated, Any, cast

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPBearer
from jwt.types import Options
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute

from shared.clock import utcnow
from shared.config import Settings, get_settings
from shared.identity import ROLES, SCOPE_KINDS, Principal, ScopeKind
from shared.web.jwks import ASYMMETRIC, Signer, file_signer, key_source, kid_of

__all__ = ["ROLES", "Principal", "allow", "current_principal", "decode_token", "mint_token", "public"]


class _BearerToken(HTTPBearer):
    """The token of an ``Authorization: Bearer`` header, or ``None``: FastAPI's ``HTTPBearer`` (the
    same security scheme in the OpenAPI document) without a credentials model built per request."""

    async def __call__(self, request: HTTPConnection) -> str | None:  # type: ignore[override]
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        token = token.strip()
        return token if token and scheme.lower() == "bearer" else None


_bearer = _BearerToken(auto_error=False, scheme_name="HTTPBearer")

ISSUER = "linli-accounts"
"""The ``iss`` accounts' tokens carry (``ACCOUNTS_ISSUER``'s default)."""
AUDIENCE = "linli"
"""The ``aud`` accounts' tokens carry (``ACCOUNTS_AUDIENCE``'s default)."""


def mint_token(
    sub: str,
    roles: list[str] | tuple[str, ...],
    *,
    name: str | None = None,
    community: str | None = None,
    communities: list[str] | tuple[str, ...] | None = None,
    team: str | None = None,
    household: str | None = None,
    ttl: timedelta = timedelta(days=30),
    settings: Settings | None = None,
    signer: Signer | None = None,
) -> str:
    """A token for local use and tests, signed with accounts' key: ``signer`` (``linli token`` passes
    accounts' active key from its store), else the development key file (:func:`shared.web.jwks.file_signer`).

    It carries what accounts' own tokens carry (``iss``, ``aud``, the scope claims), so every service
    verifies it by the JWKS like one issued at sign-in.
    """
    settings = settings or get_settings()
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(sorted(unknown))}")
    now = utcnow()
    claims: dict[str, Any] = {
        "sub": sub,
        "roles": list(roles),
        "iat": now,
        "exp": now + ttl,
        "iss": settings.jwt_issuer or ISSUER,
        "aud": settings.jwt_audience or AUDIENCE,
    }
    if name:
        claims["name"] = name
    served = list(communities or ()) + ([community] if community else [])
    if served:
        claims["communities"] = served
    if team:
        claims["team"] = team
    if household:
        claims["household"] = household
    return (signer or file_signer(settings)).sign(claims)


def decode_token(token: str, settings: Settings | None = None) -> Principal:
    """Verify a token by the JWKS and return its principal."""
    return _principal(_verified_claims(token, settings or get_settings()))


def _verified_claims(token: str, settings: Settings) -> dict[str, Any]:
    """The claims of a token whose signature, ``exp`` and (when configured) ``iss`` and ``aud`` hold.

    The key comes from the JWKS (:func:`shared.web.jwks.key_source`: accounts in this process, else
    ``LINLI_JWKS_URL``, else in development the key file's public half) by the token's ``kid``, and
    only asymmetric algorithms pass: there is no shared secret to verify with.
    """
    options: Options = {"require": ["sub", "exp"], "verify_aud": settings.jwt_audience is not None}
    checks: dict[str, Any] = {"audience": settings.jwt_audience, "issuer": settings.jwt_issuer}
    signing = key_source(settings).key_for(token)
    algorithms = [signing.algorithm_name] if signing.algorithm_name in ASYMMETRIC else list(ASYMMETRIC)
    return jwt.decode(
        token, signing.key, algorithms=algorithms, options=options, leeway=settings.jwt_leeway_s, **checks
    )


def _principal(claims: dict[str, Any]) -> Principal:
    roles = claims.get("roles") or []
    if isinstance(roles, str):
        roles = roles.split()
    communities = claims.get("communities") or []
    if isinstance(communities, str):
        communities = [communities]
    if claims.get("community"):  # tokens minted before scopes had one community
        communities = [*communities, claims["community"]]
    return Principal(
        sub=str(claims["sub"]),
        roles=frozenset(roles),
        name=claims.get("name"),
        communities=frozenset(str(c) for c in communities),
        team=claims.get("team"),
        household=claims.get("household"),
    )


_VERIFIED: dict[tuple[str, int], tuple[Principal, float]] = {}
_VERIFIED_MAX = 10_000


def verified_principal(token: str, settings: Settings | None = None) -> Principal:
    """:func:`decode_token` with a cache of tokens already verified (until they expire).

    A signature check costs more than the rest of a small request; a token's claims cannot change,
    so a token verified once by the same JWKS stays valid until its ``exp``. Failures are not cached.
    """
    settings = settings or get_settings()
    hit = cached_principal(token, settings)
    if hit is not None:
        return hit
    cache_key = _cache_key(token, settings)
    claims = _verified_claims(token, settings)
    principal = _principal(claims)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[cache_key] = (principal, float(claims["exp"]))
    return principal


def _cache_key(token: str, settings: Settings) -> tuple[str, int]:
    return (token, id(key_source(settings)))


def cached_principal(token: str, settings: Settings) -> Principal | None:
    """The principal of a token verified before and not yet expired (no signature check, no I/O)."""
    hit = _VERIFIED.get(_cache_key(token, settings))
    if hit is not None and hit[1] > time.time():
        return hit[0]
    return None


async def principal_of(token: str, settings: Settings | None = None) -> Principal:
    """:func:`verified_principal` for async code: a token verified before costs one dict lookup; when the
    key is not cached, the JWKS is fetched on a worker thread (an HTTP fetch, or accounts' store read
    in-process), never on the event loop."""
    settings = settings or get_settings()
    hit = cached_principal(token, settings)
    if hit is not None:
        return hit
    if not _key_cached(token, settings):
        return await asyncio.to_thread(verified_principal, token, settings)
    return verified_principal(token, settings)


def _key_cached(token: str, settings: Settings) -> bool:
    try:
        return key_source(settings).cached(kid_of(token)) is not None
    except jwt.PyJWTError:
        return True  # a malformed header or no source: fails at once, nothing to fetch


async def current_principal(request: Request, bearer: Annotated[str | None, Depends(_bearer)]) -> Principal:
    """The verified caller; 401 when no valid bearer token is given."""
    token = bearer or request.query_params.get("access_token")
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "需要登录 / authentication required", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        return await principal_of(token)
    except jwt.PyJWKClientConnectionError:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "暂时无法验证令牌 / the token's keys cannot be fetched now"
        ) from None
    except jwt.PyJWTError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, f"令牌无效 / invalid token: {exc}", headers={"WWW-Authenticate": "Bearer"}
        ) from None


class allow:  # noqa: N801 - reads as a declaration on a route
    """Dependency: the caller must hold one of the roles. Returns the :class:`Principal`.

    ``allow(staff="community", resident="self")`` admits each role with the scope it is narrowed to
    (kept in ``scopes`` for the scope matrix test and the docs); a role given positionally has not
    declared its scope yet, which that test reports.
    """

    def __init__(self, *roles: str, **scoped: ScopeKind) -> None:
        every = set(roles) | set(scoped)
        unknown = every - set(ROLES)
        if unknown or not every:
            raise ValueError(f"allow() needs known roles, got {sorted(every)}")
        bad = {kind for kind in scoped.values() if kind not in SCOPE_KINDS}
        if bad:
            raise ValueError(f"unknown scope kinds {sorted(bad)}; choose from {', '.join(SCOPE_KINDS)}")
        self.roles = frozenset(every)
        self.scopes: dict[str, ScopeKind | None] = {role: None for role in roles} | dict(scoped)

    async def __call__(self, request: Request, bearer: Annotated[str | None, Depends(_bearer)]) -> Principal:
        # current_principal called, not depended on: one level less for FastAPI to solve on every request
        principal = await current_principal(request, bearer)
        if not principal.roles & self.roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"无权访问 / forbidden: needs one of {', '.join(sorted(self.roles))}",
            )
        return principal


class public:  # noqa: N801
    """Dependency marking a route as open to anyone (health checks, Open311 GETs)."""

    roles: frozenset[str] = frozenset()
    scopes: dict[str, ScopeKind | None] = {}

    async def __call__(self) -> None:
        return None


def declared_routes(
    routes: Iterable[BaseRoute], prefix: str = "", inherited: frozenset[str] | None = None
) -> Iterator[tuple[list[str], str, frozenset[str] | None]]:
    """Yield ``(methods, path, roles)`` for every API route, descending into included routers.

    ``roles`` is what the route (or a router it was included with) declared through :class:`allow`
    or :class:`public`; ``None`` means it declared nothing.
    """
    from fastapi.routing import APIRoute

    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:  # FastAPI >= 0.16x keeps included routers as a branch (a private class)
            context = cast(Any, route).include_context  # (FastAPI's _IncludedRouter, typed nowhere public)
            access = inherited
            for dep in context.dependencies:
                if isinstance(dep.dependency, allow | public):
                    access = dep.dependency.roles
            yield from declared_routes(original.routes, prefix + context.prefix, access)
        elif isinstance(route, APIRoute):
            access = route_access(route)
            yield sorted(route.methods or ()), prefix + route.path, access if access is not None else inherited


def route_access(route: BaseRoute) -> frozenset[str] | None:
    """The roles a route declared with :class:`allow`, ``frozenset()`` for :class:`public`, else ``None``."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, allow | public):
            return dep.call.roles
        stack.extend(dep.dependencies)
    return None


def route_scopes(route: BaseRoute) -> dict[str, ScopeKind | None] | None:
    """Role → declared scope kind for a route (``None`` values: not declared), or ``None`` if no access."""
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant is not None else []
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, allow | public):
            return dict(dep.call.scopes)
        stack.extend(dep.dependencies)
    return None
