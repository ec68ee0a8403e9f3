"""Periodic work of the accounts service: forgetting spent codes and ended sessions (safe in two replicas)."""

from __future__ import annotations

from datetime import datetime

from services.accounts.service_layer import erasure, housekeeping
from shared.service import ServiceContext


def tick(ctx: ServiceContext, now: datetime) -> int:
    """Delete challenges, locks, sessions and refresh tokens past their use; returns the rows deleted."""
    with ctx.store.transaction() as session:
        return housekeeping.purge(session, now)


async def scrub(ctx: ServiceContext, now: datetime) -> int:
    """Delete recently erased people's earlier entries from the accounts stream; returns the entries deleted."""
    return await erasure.scrub_stream(ctx, now)
