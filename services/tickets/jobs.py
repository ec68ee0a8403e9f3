"""Periodic work of the tickets service (safe in two replicas: every action is claimed by a conditional UPDATE)."""

from __future__ import annotations

from datetime import datetime

from services.tickets.service_layer import sla
from shared.service import ServiceContext


def tick(ctx: ServiceContext, now: datetime) -> int:
    """Escalate missed deadlines and auto-close silent resolved tickets; returns the number of actions."""
    return sla.escalate_due(ctx, now) + sla.auto_close(ctx, now)
