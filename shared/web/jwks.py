"""Verifying bearer tokens by a JWKS, and accounts' development signing key.

Tokens are verified only by public keys from a JWKS (never a shared secret), from the first of:

1. the accounts service running in this process (``linli run``): its store's published keys, read
   in-process (:func:`publish_in_process`), the same document it serves at ``/.well-known/jwks.json``;
2. ``LINLI_JWKS_URL`` (``http://accounts:8000/.well-known/jwks.json``, or an identity provider's);
3. outside production only, the public half of accounts' development key file (see below), so a
   service run alone on a development machine (or in a test) verifies what ``linli token`` mints.

Keys are cached for ``LINLI_JWKS_CACHE_S``. A token naming a ``kid`` the cache does not hold makes
one fetch (so a key rotated in is picked up at once), but at most one per :data:`REFETCH_S`, so tokens
with made-up ``kid`` values cannot turn every request into a fetch. Only asymmetric algorithms are
accepted; an ``HS256`` token is refused whatever its secret.

**The development key file** (``LINLI_SIGNING_KEY_FILE``, default ``<LINLI_VAR_DIR>/signing-key.jwk``
outside production) holds one private Ed25519 JWK, mode 0600. ``mint_token`` (tests, benches) signs
with it, made on first use; the accounts service adopts a key file it has not seen as its current
signing key, so accounts' JWKS publishes it. Under ``LINLI_ENV=production`` there is no default file.

Fetching over HTTP is blocking; the async edge (:func:`shared.web.auth.principal_of`) calls
:meth:`JwksKeys.key_for` on a worker thread when the key is not cached.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.config import Settings

ASYMMETRIC = ("EdDSA", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384")
"""Algorithms a JWKS-verified token may use (never ``none`` or a shared-secret HMAC)."""
REFETCH_S = 1.0
"""The shortest time between two fetches caused by unknown ``kid`` values."""


class JwksKeys:
    """The keys of one JWKS (a URL, or a callable answering the document), fetched on demand and cached."""

    def __init__(self, source: str | Callable[[], Any], *, cache_s: float = 300.0, timeout_s: float = 5.0) -> None:
        self.source = source
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

    def forget(self) -> None:
        """Fetch again on the next token (the signer just rotated its key)."""
        self._fetched_at = float("-inf")

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
                self._keys = _parse(self._document())
                self._fetched_at = time.monotonic()
            found = self._keys.get(kid)
        if found is None:
            raise jwt.PyJWKClientError("签名密钥未知 / the token's signing key is not in the JWKS")
        return found

    def _document(self) -> Any:
        if callable(self.source):
            try:
                return self.source()
            except Exception as exc:  # the store behind an in-process JWKS is down: as unreachable
                raise jwt.PyJWKClientConnectionError(f"JWKS unreachable: {exc.__class__.__name__}") from None
        try:
            response = httpx.get(self.source, timeout=self.timeout_s, follow_redirects=False)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise jwt.PyJWKClientConnectionError(f"JWKS unreachable: {exc.__class__.__name__}") from None


def _parse(document: Any) -> dict[str, jwt.PyJWK]:
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document.get("keys", []) if isinstance(document, dict) else []:
        if not isinstance(entry, dict) or not entry.get("kid") or entry.get("use", "sig") != "sig":
            continue
        public = {k: v for k, v in entry.items() if k not in _PRIVATE_MEMBERS}  # verify with public halves only
        try:
            keys[str(entry["kid"])] = jwt.PyJWK(public)
        except jwt.PyJWTError:
            continue  # a key type this install cannot use: the others still verify
    return keys


_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


_HEADER_SEGMENT = re.compile(r"[A-Za-z0-9_-]{2,1024}")


def kid_of(token: str) -> str:
    """The ``kid`` header of a token (unverified, as it only picks the key).

    Read from the header segment alone: :func:`jwt.get_unverified_header` decodes and checks all three
    segments byte by byte in Python, ~0.1 ms for a Linli token, and ``jwt.decode`` does it again when it
    verifies the token, which checks this header strictly.
    """
    segment = token.partition(".")[0]
    if not _HEADER_SEGMENT.fullmatch(segment):
        raise jwt.DecodeError("令牌头无效 / the token's header is malformed")
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except ValueError:  # binascii.Error and json's errors are ValueErrors
        raise jwt.DecodeError("令牌头无效 / the token's header is malformed") from None
    kid = header.get("kid") if isinstance(header, dict) else None
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


# -- the signer in this process (accounts in `linli run`) -----------------------------------------
_IN_PROCESS: dict[int, JwksKeys] = {}


def publish_in_process(owner: object, document: Callable[[], Any], cache_s: float = 300.0) -> JwksKeys:
    """Verify this process's tokens by ``document()`` (accounts' published keys, read from its store).

    ``owner`` (the accounts context) withdraws it with :func:`withdraw_in_process` when it stops.
    """
    keys = _IN_PROCESS[id(owner)] = JwksKeys(document, cache_s=cache_s)
    return keys


def withdraw_in_process(owner: object) -> None:
    _IN_PROCESS.pop(id(owner), None)


def forget_in_process() -> None:
    """The in-process signer rotated: fetch its keys again on the next token."""
    for keys in _IN_PROCESS.values():
        keys.forget()


def in_process_keys() -> JwksKeys | None:
    """The JWKS of the signer running in this process, if one does (the latest to start)."""
    return next(reversed(_IN_PROCESS.values()), None)


def key_source(settings: Settings) -> JwksKeys:
    """Where this process's tokens are verified (see the module's docstring for the order).

    Raises :class:`jwt.PyJWKClientConnectionError` when there is none (production without a JWKS URL).
    """
    local = in_process_keys()
    if local is not None:
        return local
    if settings.jwks_url:
        return jwks_keys(settings.jwks_url, settings.jwks_cache_s)
    held = _FILE_SOURCES.get(id(settings))
    if held is not None and held[0] is settings:  # asked on every request: skip building the path again
        return held[1]
    path = key_file(settings)
    if path is None:
        raise jwt.PyJWKClientConnectionError("no JWKS: set LINLI_JWKS_URL to accounts' /.well-known/jwks.json")
    found = _SOURCES.get(f"file:{path}")
    if found is None:
        found = _SOURCES[f"file:{path}"] = JwksKeys(lambda: _file_jwks(path), cache_s=settings.jwks_cache_s)
    if len(_FILE_SOURCES) >= 64:  # a process has one settings object; tests make many
        _FILE_SOURCES.clear()
    _FILE_SOURCES[id(settings)] = (settings, found)
    return found


_FILE_SOURCES: dict[int, tuple[Settings, JwksKeys]] = {}
"""The key-file source of each settings object seen (held, so its id is not reused)."""


def _file_jwks(path: Path) -> dict[str, Any]:
    """The key file's public half as a one-key JWKS (none yet: an empty set)."""
    try:
        return {"keys": [Signer.load(path).public_jwk()]}
    except FileNotFoundError:
        return {"keys": []}


# -- signing ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Signer:
    """A private Ed25519 signing key under its ``kid``."""

    kid: str
    key: Ed25519PrivateKey

    @classmethod
    def generate(cls, kid: str) -> Signer:
        return cls(kid, Ed25519PrivateKey.generate())

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> Signer:
        loaded = jwt.PyJWK(jwk)
        if not isinstance(loaded.key, Ed25519PrivateKey) or not loaded.key_id:
            raise ValueError("a signing key file holds a private Ed25519 JWK with a kid")
        return cls(loaded.key_id, loaded.key)

    @classmethod
    def load(cls, path: Path) -> Signer:
        return cls.from_jwk(json.loads(path.read_text(encoding="utf-8")))

    def public_jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.key.public_key()))
        return public | {"kid": self.kid, "alg": "EdDSA", "use": "sig"}

    def private_jwk(self) -> dict[str, Any]:
        private: dict[str, Any] = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.key))
        return private | {"kid": self.kid, "alg": "EdDSA", "use": "sig"}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": self.kid})


def key_file(settings: Settings) -> Path | None:
    """Accounts' development signing key file (``None`` under production unless set explicitly)."""
    if settings.signing_key_file is not None:
        return settings.signing_key_file
    if settings.env == "production":
        return None
    return settings.var_dir / "signing-key.jwk"


_FILE_SIGNERS: dict[Path, tuple[float, Signer]] = {}


def file_signer(settings: Settings) -> Signer:
    """The key in the development key file, made (mode 0600) when there is none yet."""
    path = key_file(settings)
    if path is None:
        raise RuntimeError("LINLI_ENV=production has no development signing key: tokens come from accounts")
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        _create(path)
        mtime = path.stat().st_mtime
    hit = _FILE_SIGNERS.get(path)
    if hit is not None and hit[0] == mtime:
        return hit[1]
    signer = Signer.load(path)
    _FILE_SIGNERS[path] = (mtime, signer)
    return signer


def _create(path: Path) -> None:
    """Write a new key file only this OS user reads; if another process wrote one first, keep theirs."""
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    signer = Signer.generate(f"dev-{secrets.token_hex(6)}")
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(signer.private_jwk(), out)
    try:
        os.link(partial, path)  # fails if the file appeared meanwhile: the first writer's key wins
    except FileExistsError:
        pass
    finally:
        partial.unlink()
