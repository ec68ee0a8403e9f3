"""The code in a sign-up's QR: the sign-up id and an HMAC of it, checked at the door without a lookup table.

The key is derived from the service's secret for this purpose alone, so a check-in code cannot be
replayed as anything else, and a code cannot be made for a sign-up id without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

PURPOSE = b"linli-activities-checkin-v1"


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    """The check-in key derived from the service's secret (once: every confirmed sign-up's answer shows a code)."""
    return hmac.new(secret.encode(), PURPOSE, hashlib.sha256).digest()


def _mac(signup_id: str, secret: str) -> str:
    digest = hmac.new(_key(secret), signup_id.encode(), hashlib.sha256).digest()[:15]
    return base64.urlsafe_b64encode(digest).decode()


def code_for(signup_id: str, secret: str) -> str:
    """The check-in code of a sign-up (``<id>.<mac>``, 40 characters or so, fits a small QR)."""
    return f"{signup_id}.{_mac(signup_id, secret)}"


def verified(code: str, secret: str) -> str | None:
    """The sign-up id a genuine code names, or None for anything else."""
    signup_id, _, mac = code.partition(".")
    if not signup_id or not mac:
        return None
    return signup_id if hmac.compare_digest(mac, _mac(signup_id, secret)) else None
