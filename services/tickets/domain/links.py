"""Short-lived signed links to the photos of tickets that are not public (HMAC-SHA256 with an expiry).

A photo taken inside a home is shown only to callers entitled to its ticket; views give them a link
``/api/tickets/media/<name>?exp=<unix seconds>&sig=<hex>`` that any browser can open (an ``<img>``
sends no bearer token) until it expires. The key is the deployment's PII key, so a link cannot be
forged, and the signature covers the file name and the expiry, so it cannot be reused for another
photo or extended.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

LINK_TTL = timedelta(minutes=15)
"""How long a signed photo link works: long enough to look at a ticket, too short to share widely."""


def signature(name: str, expires: int, key: str) -> str:
    message = f"tickets-media:{name}:{expires}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def signed_query(name: str, now: datetime, key: str, ttl: timedelta = LINK_TTL) -> str:
    """The query string that opens ``name`` until ``now + ttl``."""
    expires = int((now + ttl).timestamp())
    return f"exp={expires}&sig={signature(name, expires, key)}"


def valid(name: str, expires: int | None, sig: str | None, key: str, now: datetime) -> bool:
    """Whether ``sig`` signs ``name`` until ``expires`` and that time has not passed."""
    if expires is None or not sig or expires < now.timestamp():
        return False
    return hmac.compare_digest(signature(name, expires, key), sig)
