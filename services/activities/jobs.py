"""Periodic work of the activities service (safe in two replicas): offers, reminders, no-shows."""

from __future__ import annotations

from datetime import datetime

from services.activities.service_layer import deadlines, retention
from shared.service import ServiceContext


def tick(ctx: ServiceContext, now: datetime) -> int:
    """Expire offers (and offer the next), send reminders, count no-shows; returns the events emitted."""
    return deadlines.expire_offers(ctx, now) + deadlines.send_reminders(ctx, now) + deadlines.record_no_shows(ctx, now)


def retain(ctx: ServiceContext, now: datetime) -> int:
    """Apply the retention policy (``service_layer/retention.py``); returns the rows anonymised or deleted."""
    return retention.tick(ctx, now)
