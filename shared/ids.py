"""Ids Linli makes for the things it stores."""

from __future__ import annotations

import uuid


def new_id(prefix: str = "") -> str:
    """A random id of 12 hex characters after a type prefix (``L…`` loan, ``V…`` visit): 48 bits,
    short enough to read out on the phone, and unique enough per prefix for a city's records."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"
