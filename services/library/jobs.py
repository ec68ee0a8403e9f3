"""Periodic work of the library service: loan notices and hold expiry (safe in two replicas)."""

from __future__ import annotations

from datetime import datetime

from services.library.service_layer import holds, notices, retention
from shared.service import ServiceContext


def tick(ctx: ServiceContext, now: datetime) -> int:
    """Send due notices and expire uncollected holds; returns the number of events emitted."""
    return notices.send_due(ctx, now) + holds.expire_due(ctx, now)


def retain(ctx: ServiceContext, now: datetime) -> int:
    """Apply the retention policy (``service_layer/retention.py``); returns the rows anonymised or deleted."""
    return retention.tick(ctx, now)
