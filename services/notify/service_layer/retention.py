"""Retention of the notify store (issue 15, item 5.4): the policy as data, and the job that applies it.

In-app messages greet by name and say what happened to whom; deliveries and their attempt log hold
the texts sent and the providers' answers. Nothing of it is needed for statistics beyond its time:
messages are deleted after :data:`INBOX` days, finished deliveries (sent or failed) with their
attempts after :data:`DELIVERIES` days. Plain deletes, safe in two replicas.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from services.notify.adapters.orm import Delivery, DeliveryAttempt, Notification
from shared.erasure import Rule
from shared.service import ServiceContext

INBOX = Rule("notify.inbox", "an in-app message", "created_at", 180, "deleted")
DELIVERIES = Rule("notify.deliveries", "a sent or failed delivery and its attempt log", "created_at", 90, "deleted")
POLICY = (INBOX, DELIVERIES)


def tick(ctx: ServiceContext, now: datetime) -> int:
    """Apply the policy; returns the rows deleted."""
    with ctx.store.transaction() as session:
        notes = session.execute(delete(Notification).where(Notification.created_at < INBOX.cutoff(now)))  # type: ignore[arg-type]
        old = (
            select(Delivery.id)
            .where(Delivery.status.in_(("sent", "failed")), Delivery.created_at < DELIVERIES.cutoff(now))  # type: ignore[attr-defined]
            .scalar_subquery()
        )
        attempts = session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(old)))  # type: ignore[attr-defined]
        deliveries = session.execute(
            delete(Delivery).where(
                Delivery.status.in_(("sent", "failed")),  # type: ignore[attr-defined]
                Delivery.created_at < DELIVERIES.cutoff(now),  # type: ignore[arg-type]
            )
        )
        return sum(int(r.rowcount or 0) for r in (notes, attempts, deliveries))  # type: ignore[attr-defined]
