"""Retention of the library store (issue 15, item 5.4): the policy as data, and the job that applies it.

A finished loan (returned) and a closed hold keep their reader for :data:`LOANS` days (a dispute over a
return, a reader's own history), then lose it (the tombstone): which copy went where and when stays
for the reports. The access log is kept :data:`ACCESS_LOG` days (the proof of who read what), then
deleted. Both are plain conditional statements, safe in two replicas.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update

from services.library.adapters.orm import Hold, Loan, access_log
from shared.erasure import TOMBSTONE, Rule
from shared.service import ServiceContext

LOANS = Rule(
    "library.loans", "a returned loan's or closed hold's reader", "returned_at / closed_at", 365, "unlinked (tombstone)"
)
ACCESS_LOG = Rule("library.access_log", "an access-log row (who was shown a reader's identity)", "at", 1095, "deleted")
POLICY = (LOANS, ACCESS_LOG)


def tick(ctx: ServiceContext, now: datetime) -> int:
    """Apply the policy; returns the rows changed or deleted."""
    before, logs_before = LOANS.cutoff(now), ACCESS_LOG.cutoff(now)
    with ctx.store.transaction() as session:
        loans = session.execute(
            update(Loan)
            .where(Loan.returned_at.is_not(None), Loan.returned_at < before, Loan.reader_id != TOMBSTONE)  # type: ignore[union-attr,operator]
            .values(reader_id=TOMBSTONE)
        )
        holds = session.execute(
            update(Hold)
            .where(Hold.closed_at.is_not(None), Hold.closed_at < before, Hold.reader_id != TOMBSTONE)  # type: ignore[union-attr,operator]
            .values(reader_id=TOMBSTONE)
        )
        logs = session.execute(delete(access_log.table).where(access_log.table.c.at < logs_before))
        return int(loans.rowcount or 0) + int(holds.rowcount or 0) + int(logs.rowcount or 0)  # type: ignore[attr-defined]
