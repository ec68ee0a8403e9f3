"""Periodic work of the notify service: send the deliveries that are due (see service_layer.dispatch)."""

from __future__ import annotations

from datetime import datetime

from services.notify.service_layer.dispatch import dispatch
from shared.service import ServiceContext


def tick(ctx: ServiceContext, now: datetime) -> int:
    """Send what is due at ``now``; safe in two replicas and after a restart. Returns messages sent."""
    return dispatch(ctx, now)
