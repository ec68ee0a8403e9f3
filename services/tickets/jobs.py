"""Periodic work of the tickets service (safe in two replicas: every action is claimed by a conditional UPDATE)."""

from __future__ import annotations

from datetime import datetime

from services.tickets.service_layer import retention, sla
from shared.service import ServiceContext


def tick(ctx: ServiceContext, now: datetime) -> int:
    """Escalate missed deadlines and auto-close silent resolved tickets; returns the number of actions."""
    return sla.escalate_due(ctx, now) + sla.auto_close(ctx, now)


def retain(ctx: ServiceContext, now: datetime) -> int:
    """Apply the retention policy (``service_layer/retention.py``); returns the rows anonymised or deleted."""
    return retention.tick(ctx, now)
