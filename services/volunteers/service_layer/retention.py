"""Retention of the volunteers store (issue 15, item 5.4): the policy as data, and the job that applies it.

Health data goes with the consent (``consent.withdraw``), a volunteer with their erasure; what is
left to time is the access log, kept :data:`ACCESS_LOG` days as the proof of who read an elder's
health or a phone, then deleted. A plain delete, safe in two replicas.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from services.volunteers.adapters.orm import access_log
from shared.erasure import Rule
from shared.service import ServiceContext

ACCESS_LOG = Rule("volunteers.access_log", "an access-log row (who read health data or a phone)", "at", 1095, "deleted")
POLICY = (ACCESS_LOG,)


def tick(ctx: ServiceContext, now: datetime) -> int:
    """Apply the policy; returns the rows deleted."""
    with ctx.store.transaction() as session:
        gone = session.execute(delete(access_log.table).where(access_log.table.c.at < ACCESS_LOG.cutoff(now)))
        return int(gone.rowcount or 0)
