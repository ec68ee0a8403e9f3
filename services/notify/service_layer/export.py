"""A person's own notify data (``GET /api/notify/me/export``): preferences (channel addresses masked, as
``GET /preferences`` shows them), in-app messages, deliveries with their attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from services.notify.adapters.orm import Delivery, DeliveryAttempt, Follower, Notification, Recipient
from services.notify.service_layer import views
from shared.web.export import document, rows


def export(session: Session, sub: str, now: datetime) -> dict[str, Any]:
    known = session.get(Recipient, sub) is not None
    records = {
        "preferences": [views.preferences(session, sub)] if known else [],
        "inbox": rows(
            session.scalars(select(Notification).where(Notification.recipient == sub).order_by(Notification.id))
        ),  # type: ignore[arg-type]
        "deliveries": rows(
            session.scalars(select(Delivery).where(Delivery.recipient == sub).order_by(Delivery.created_at))
        ),  # type: ignore[arg-type]
        "attempts": rows(
            session.scalars(
                select(DeliveryAttempt).where(DeliveryAttempt.recipient == sub).order_by(DeliveryAttempt.id)
            )
        ),  # type: ignore[arg-type]
        "follows": rows(session.scalars(select(Follower).where(Follower.user_id == sub))),
    }
    return document("notify", sub, now, records)
