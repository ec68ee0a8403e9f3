"""Periodic work of the notify service: send the deliveries that are due (see service_layer.dispatch)."""

from __future__ import annotations

from datetime import datetime

from services.notify.service_layer import retention
from services.notify.service_layer.dispatch import dispatch
from shared.service import ServiceContext


def tick(ctx: ServiceContext, now: datetime) -> int:
    """Send what is due at ``now``; safe in two replicas and after a restart. Returns messages sent."""
    return dispatch(ctx, now)


def retain(ctx: ServiceContext, now: datetime) -> int:
    """Apply the retention policy (``service_layer/retention.py``); returns the rows anonymised or deleted."""
    return retention.tick(ctx, now)
