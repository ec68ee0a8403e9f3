"""Verifying bearer tokens by a JWKS URL (accounts' ``/.well-known/jwks.json``, or an identity provider's).

No service shares a secret with another: each fetches the signer's public keys and keeps them for
``LINLI_JWKS_CACHE_S``. A token naming a ``kid`` the cache does not hold makes one fetch (so a key
rotated in is picked up at once), but at most one per :data:`REFETCH_S`, so tokens with made-up
``kid`` values cannot turn every request into a fetch. Keys that leave the document stop being
accepted when the cache next refreshes: accounts keeps a rotated-out key published until the tokens
it signed have expired. Only asymmetric algorithms are accepted; an ``HS256`` token is refused here
whatever its secret.

Fetching is blocking HTTP; the async edge (:func:`shared.web.auth.current_principal`) calls
:meth:`JwksKeys.key_for` on a worker thread when the key is not cached, so a process that serves the
JWKS itself (``linli run`` with accounts) can answer its own fetch.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import jwt

ASYMMETRIC = ("EdDSA", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384")
"""Algorithms a JWKS-verified token may use (never ``none`` or a shared-secret HMAC)."""
REFETCH_S = 1.0
"""The shortest time between two fetches caused by unknown ``kid`` values."""


class JwksKeys:
    """The keys of one JWKS URL, fetched on demand and cached."""

    def __init__(self, url: str, *, cache_s: float = 300.0, timeout_s: float = 5.0) -> None:
        self.url = url
        self.cache_s = cache_s
        self.timeout_s = timeout_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def cached(self, kid: str) -> jwt.PyJWK | None:
        """The key for ``kid`` if it is cached and fresh (no I/O)."""
        if time.monotonic() - self._fetched_at > self.cache_s:
            return None
        return self._keys.get(kid)

    def key_for(self, token: str) -> jwt.PyJWK:
        """The public key that signed ``token`` (by its ``kid`` header), fetching the JWKS when needed.

        Raises :class:`jwt.PyJWKClientError` for a token without a known ``kid`` and
        :class:`jwt.PyJWKClientConnectionError` when the JWKS cannot be fetched.
        """
        kid = kid_of(token)
        found = self.cached(kid)
        if found is not None:
            return found
        with self._lock:
            found = self.cached(kid)
            if found is not None:
                return found
            stale = time.monotonic() - self._fetched_at > self.cache_s
            if stale or time.monotonic() - self._fetched_at >= REFETCH_S:
                self._keys = self._fetch()
                self._fetched_at = time.monotonic()
            found = self._keys.get(kid)
        if found is None:
            raise jwt.PyJWKClientError("签名密钥未知 / the token's signing key is not in the JWKS")
        return found

    def _fetch(self) -> dict[str, jwt.PyJWK]:
        try:
            response = httpx.get(self.url, timeout=self.timeout_s, follow_redirects=False)
            response.raise_for_status()
            document: Any = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise jwt.PyJWKClientConnectionError(f"JWKS unreachable: {exc.__class__.__name__}") from None
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(entry, dict) or not entry.get("kid") or entry.get("use", "sig") != "sig":
                continue
            try:
                keys[str(entry["kid"])] = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key type this install cannot use: the others still verify
        return keys


def kid_of(token: str) -> str:
    """The ``kid`` header of a token (unverified, as it only picks the key)."""
    header = jwt.get_unverified_header(token)
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise jwt.PyJWKClientError("令牌缺少密钥标识 / the token has no kid header")
    return kid


_SOURCES: dict[str, JwksKeys] = {}


def jwks_keys(url: str, cache_s: float = 300.0) -> JwksKeys:
    """The process's one cache for ``url``."""
    found = _SOURCES.get(url)
    if found is None or found.cache_s != cache_s:
        found = _SOURCES[url] = JwksKeys(url, cache_s=cache_s)
    return found
