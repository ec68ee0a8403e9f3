"""The HTTPS ingress signature: HMAC-SHA256 over ``<timestamp>.<body>`` with a 5-minute window."""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Linli-Signature`` value: ``sha256=<hex>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def within_window(timestamp: str, now_s: float, window_s: int) -> bool:
    """Whether a Unix ``timestamp`` is within ``window_s`` seconds of ``now_s`` (either side)."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    return abs(now_s - ts) <= window_s


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Constant-time comparison of a received signature with the expected one."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")
