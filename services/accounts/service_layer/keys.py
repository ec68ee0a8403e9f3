"""Signing keys and access tokens: Ed25519 (EdDSA), rotated by ``kid``, published as a JWKS.

The newest key that is not retired signs. Rotation retires it and makes a new one; a retired key stays
in ``/.well-known/jwks.json`` for ``ACCOUNTS_KEY_RETENTION_S`` (longer than an access token lives), so
tokens it signed keep verifying until they expire. Private keys are stored sealed (``adapters/sealing``).

A development key file (``LINLI_SIGNING_KEY_FILE``, :func:`shared.web.jwks.key_file`) that the store has
not seen becomes the current key when the service starts (:func:`adopt`): that is how ``mint_token``'s
tokens (tests, benches, ``linli token`` before accounts ever ran) verify by accounts' JWKS.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Table, or_, select
from sqlmodel import Session

from services.accounts.adapters.orm import SigningKey
from services.accounts.adapters.sealing import seal, unseal
from services.accounts.config import accounts_settings
from shared.config import Settings
from shared.db.driver import fetch
from shared.ids import new_id
from shared.web.jwks import Signer, key_file

PURPOSE = "signing-key"
_PRIVATE: dict[str, Ed25519PrivateKey] = {}
"""Unsealed private keys of this process by ``kid`` (unsealing and parsing once per key)."""


def new_key(s: Session, now: datetime, signer: Signer | None = None) -> SigningKey:
    """Store a signing key (a new one, or ``signer``'s), the private half sealed."""
    private = signer.key if signer is not None else Ed25519PrivateKey.generate()
    kid = signer.kid if signer is not None else new_id("k")
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key()))
    public.update({"kid": kid, "alg": "EdDSA", "use": "sig"})
    row = SigningKey(
        kid=kid, alg="EdDSA", private_sealed=seal(pem, PURPOSE), public_jwk=json.dumps(public), created_at=now
    )
    s.add(row)
    s.flush()
    return row


_CURRENT = (
    select(SigningKey)
    .where(SigningKey.retired_at.is_(None))  # type: ignore[union-attr]
    .order_by(SigningKey.created_at.desc(), SigningKey.kid.desc())  # type: ignore[attr-defined]
    .limit(1)
)
"""The newest key not retired (built once: every sign-in and refresh signs)."""


def current(s: Session, now: datetime) -> SigningKey:
    """The key that signs now (made on first use)."""
    row = s.scalars(_CURRENT).first()
    return row if row is not None else new_key(s, now)


def rotate(s: Session, now: datetime) -> SigningKey:
    """Retire every signing key and make a new one (the old ones stay published for the retention)."""
    for row in s.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):  # type: ignore[union-attr]
        row.retired_at = now
    return new_key(s, now)


def published(s: Session, now: datetime) -> list[dict[str, Any]]:
    """The public JWKs a verifier needs: the current keys and those retired within the retention."""
    since = now - timedelta(seconds=accounts_settings().key_retention_s)
    rows = s.scalars(
        select(SigningKey)
        .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at >= since))  # type: ignore[union-attr, operator]
        .order_by(SigningKey.created_at.desc(), SigningKey.kid)  # type: ignore[attr-defined]
    )
    return [json.loads(row.public_jwk) for row in rows]


def adopt(s: Session, now: datetime, settings: Settings) -> SigningKey | None:
    """Make the development key file's key the current one if the store has not seen it (a rotation:
    the previous keys stay published for the retention). ``None`` when there is no such new key."""
    path = key_file(settings)
    if path is None or not path.is_file():
        return None
    signer = Signer.load(path)
    if s.get(SigningKey, signer.kid) is not None:
        return None
    for row in s.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):  # type: ignore[union-attr]
        row.retired_at = now
    return new_key(s, now, signer)


class Sealed(Protocol):
    """A stored key as :func:`signer_of` needs it: a :class:`SigningKey`, or a row read of one."""

    @property
    def kid(self) -> str: ...
    @property
    def private_sealed(self) -> str: ...


_keys: Table = SigningKey.__table__  # type: ignore[attr-defined]
_CURRENT_SEALED = (
    select(_keys.c.kid, _keys.c.private_sealed)
    .where(_keys.c.retired_at.is_(None))
    .order_by(_keys.c.created_at.desc(), _keys.c.kid.desc())
    .limit(1)
)
""":data:`_CURRENT`'s key, only what signing needs of it (read by the driver on SQLite)."""


def signer_of(key: Sealed) -> Signer:
    """The private key of a stored row (unsealed and parsed once per process)."""
    private = _PRIVATE.get(key.kid)
    if private is None:
        loaded = serialization.load_pem_private_key(unseal(key.private_sealed, PURPOSE).encode(), password=None)
        assert isinstance(loaded, Ed25519PrivateKey)
        private = _PRIVATE[key.kid] = loaded
    return Signer(key.kid, private)


def sign(s: Session, claims: dict[str, Any], now: datetime) -> str:
    """An access token with ``claims`` signed by the current key (``iss``, ``aud``, ``iat``, ``exp`` added)."""
    config = accounts_settings()
    body = {
        **claims,
        "iss": config.issuer,
        "aud": config.audience,
        "iat": now,
        "exp": now + timedelta(seconds=config.access_ttl_s),
    }
    s.flush()  # a key made or retired in this transaction is read as stored
    found = fetch(s.connection(), _CURRENT_SEALED)
    return signer_of(found[0] if found else new_key(s, now)).sign(body)


def stored_signer(settings: Settings) -> Signer | None:
    """Accounts' current signing key from its store, for ``linli token`` on the machine that runs it.

    ``None`` when the store does not exist yet or holds no key: then the development key file signs,
    and accounts adopts that file when it starts.
    """
    from pathlib import Path

    from sqlalchemy.exc import SQLAlchemyError

    from shared.db.engine import make_engine

    url = settings.database_url("accounts")
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None  # do not leave an empty database file behind
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            row = s.scalars(
                select(SigningKey)
                .where(SigningKey.retired_at.is_(None))  # type: ignore[union-attr]
                .order_by(SigningKey.created_at.desc(), SigningKey.kid.desc())  # type: ignore[attr-defined]
            ).first()
            return signer_of(row) if row is not None else None
    except SQLAlchemyError:
        return None  # not migrated yet
    finally:
        engine.dispose()
