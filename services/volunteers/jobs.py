"""Periodic work of the volunteers service (the ``visits`` ticker): the steps live in
``service_layer/periodic.py``; each claims its work so two replicas or a restart never double nor lose one."""

from __future__ import annotations

from datetime import datetime

from services.volunteers.service_layer import periodic, retention
from shared.service import ServiceContext


def tick(ctx: ServiceContext, now: datetime) -> int:
    """Plan, announce due visits, flag and escalate missed ones, send weekly digests; returns the events emitted."""
    return periodic.run_all(ctx, now)


def retain(ctx: ServiceContext, now: datetime) -> int:
    """Apply the retention policy (``service_layer/retention.py``); returns the rows anonymised or deleted."""
    return retention.tick(ctx, now)
