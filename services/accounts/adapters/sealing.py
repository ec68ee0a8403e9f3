"""Sealing what must be read back (a phone number a channel dials, a private signing key): AES-256-GCM.

The key is derived from ``LINLI_PII_KEY`` with HKDF and a purpose label, so a sealed phone cannot be
opened as a key and the PII key itself never encrypts anything directly. A sealed value is
``v1.<base64url(nonce | ciphertext)>``; the purpose is bound as associated data.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.config import get_settings


def _key(purpose: str, secret: str | None) -> bytes:
    material = (secret or get_settings().pii_key).encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"linli-accounts", info=purpose.encode()).derive(material)


def seal(value: str, purpose: str, secret: str | None = None) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(purpose, secret)).encrypt(nonce, value.encode(), purpose.encode())
    return "v1." + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal(token: str, purpose: str, secret: str | None = None) -> str:
    raw = token.removeprefix("v1.")
    blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    return AESGCM(_key(purpose, secret)).decrypt(blob[:12], blob[12:], purpose.encode()).decode()
