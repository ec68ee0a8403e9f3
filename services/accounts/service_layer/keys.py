"""Signing keys and access tokens: Ed25519 (EdDSA), rotated by ``kid``, published as a JWKS.

The newest key that is not retired signs. Rotation retires it and makes a new one; a retired key stays
in ``/.well-known/jwks.json`` for ``ACCOUNTS_KEY_RETENTION_S`` (longer than an access token lives), so
tokens it signed keep verifying until they expire. Private keys are stored sealed (``adapters/sealing``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import or_, select
from sqlmodel import Session

from services.accounts.adapters.orm import SigningKey
from services.accounts.adapters.sealing import seal, unseal
from services.accounts.config import accounts_settings
from shared.ids import new_id

PURPOSE = "signing-key"
_PRIVATE: dict[str, Ed25519PrivateKey] = {}
"""Unsealed private keys of this process by ``kid`` (unsealing and parsing once per key)."""


def new_key(s: Session, now: datetime) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    kid = new_id("k")
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


def current(s: Session, now: datetime) -> SigningKey:
    """The key that signs now (made on first use)."""
    row = s.scalars(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))  # type: ignore[union-attr]
        .order_by(SigningKey.created_at.desc(), SigningKey.kid.desc())  # type: ignore[attr-defined]
    ).first()
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


def sign(s: Session, claims: dict[str, Any], now: datetime) -> str:
    """An access token with ``claims`` signed by the current key (``iss``, ``aud``, ``iat``, ``exp`` added)."""
    config = accounts_settings()
    key = current(s, now)
    private = _PRIVATE.get(key.kid)
    if private is None:
        loaded = serialization.load_pem_private_key(unseal(key.private_sealed, PURPOSE).encode(), password=None)
        assert isinstance(loaded, Ed25519PrivateKey)
        private = _PRIVATE[key.kid] = loaded
    body = {
        **claims,
        "iss": config.issuer,
        "aud": config.audience,
        "iat": now,
        "exp": now + timedelta(seconds=config.access_ttl_s),
    }
    return jwt.encode(body, private, algorithm="EdDSA", headers={"kid": key.kid})
