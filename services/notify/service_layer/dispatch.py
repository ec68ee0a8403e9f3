"""The dispatcher: claim due deliveries, send them with Apprise, retry, fall back, report.

Every step is safe with two replicas and after a restart: a delivery is claimed with a conditional
UPDATE (``pending`` -> ``sending``) committed before the send; its outcome, the delivery-log row and
the NotificationSent/NotificationFailed event are written in one transaction afterwards. A claim
whose process died is released after ``lease_seconds`` (then sent again: at least once on a crash
between send and record, exactly once otherwise).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.notify.adapters import sender
from services.notify.adapters.orm import Delivery, DeliveryAttempt, Recipient
from services.notify.adapters.templates import DIGEST, Templates
from services.notify.domain.channels import message_kind
from services.notify.domain.schedule import RetryPolicy
from services.notify.domain.targets import DEFAULT, TargetPolicy
from shared.events.envelope import CloudEvent
from shared.events.notify import NotificationFailed, NotificationSent
from shared.observability import NOTIFICATIONS
from shared.service import ServiceContext

BATCH = 200


def dispatch(ctx: ServiceContext, now: datetime) -> int:
    """Send every delivery due at ``now``; returns the number of messages handed to a provider."""
    policy: RetryPolicy = ctx.state.get("policy") or RetryPolicy()
    release_stale(ctx, now, policy)
    with Session(ctx.store.engine) as session:
        due = session.exec(
            select(Delivery.id, Delivery.recipient, Delivery.channel, Delivery.fold)
            .where(Delivery.status == "pending", Delivery.due_at <= now)
            .order_by(col(Delivery.due_at), col(Delivery.created_at))
            .limit(BATCH)
        ).all()
    groups: dict[tuple, list[str]] = defaultdict(list)
    for delivery_id, recipient, channel, fold in due:
        groups[(recipient, channel) if fold else (delivery_id,)].append(delivery_id)
    sent = 0
    for ids in groups.values():
        sent += send_group(ctx, ids, now, policy)
    return sent


def release_stale(ctx: ServiceContext, now: datetime, policy: RetryPolicy) -> None:
    """Put back claims older than the lease (their process died before recording an outcome)."""
    with ctx.store.transaction() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.status == "sending", Delivery.claimed_at < now - timedelta(seconds=policy.lease_seconds))
            .values(status="pending", claimed_at=None)
            .execution_options(synchronize_session=False)
        )


def claim(session: Session, delivery_id: str, now: datetime) -> bool:
    """``pending`` -> ``sending`` if nobody else took it; True if this caller won."""
    stmt = (
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == "pending", Delivery.due_at <= now)
        .values(status="sending", claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount == 1


def send_group(ctx: ServiceContext, ids: list[str], now: datetime, policy: RetryPolicy) -> int:
    """Claim, send as one message, and record the outcome of one delivery or one folded group."""
    with ctx.store.transaction() as session:
        won = [i for i in ids if claim(session, i, now)]
        rows = [session.get(Delivery, i) for i in won]
        person = session.get(Recipient, rows[0].recipient) if rows else None
    if not rows:
        return 0
    channel = next((c for c in (person.channels if person else []) if c.get("name") == rows[0].channel), None)
    if channel is None:
        result = sender.SendResult(False, "通道已删除 / channel no longer configured")
    else:
        url = channel["url"]
        targets = ctx.state.get("targets")
        title, body = compose(ctx.state["templates"], person, rows, message_kind(url))
        result = sender.send(
            url,
            title,
            body,
            targets=targets if isinstance(targets, TargetPolicy) else DEFAULT,
            audience="operator" if channel.get("by") == "operator" else "resident",
        )
    with ctx.store.transaction() as session:
        for row in rows:
            record(ctx, session, session.get(Delivery, row.id), person, result, now, policy, folded=len(rows))
    return 1


def compose(templates: Templates, person: Recipient, rows: list[Delivery], kind: str) -> tuple[str, str]:
    """Title and body of one message: the delivery's own text, or a digest of several."""
    if len(rows) == 1:
        return rows[0].title, rows[0].short if kind == "short" else rows[0].full
    titles = [r.title for r in rows]
    items = [r.short if kind == "short" else r.title for r in rows]
    text = templates.render(
        DIGEST,
        person.language,
        {"count": len(rows), "titles": titles, "items": items, "recipient_name": person.display_name},
    )
    return text.title, text.short if kind == "short" else text.full


def cause_of(row: Delivery) -> CloudEvent:
    """The event a delivery came from, enough of it to link NotificationSent/Failed to its trace."""
    return CloudEvent(
        id=row.event_id,
        source=row.event_source,
        type=row.event_type,
        time=row.event_time,
        subject=row.subject,
        correlationid=row.correlation_id,
    )


def record(
    ctx: ServiceContext,
    session: Session,
    row: Delivery,
    person: Recipient | None,
    result,
    now: datetime,
    policy: RetryPolicy,
    *,
    folded: int,
) -> None:
    """Write one attempt's outcome: sent, retry later, fall back to the next channel, or failed."""
    row.attempts += 1
    row.claimed_at = None
    last = row.attempts >= policy.max_attempts or getattr(result, "permanent", False)
    outcome = "sent" if result.ok else ("failed" if last else "retry")
    session.add(
        DeliveryAttempt(
            delivery_id=row.id,
            event_id=row.event_id,
            event_type=row.event_type,
            recipient=row.recipient,
            channel=row.channel,
            attempt=row.attempts,
            at=now,
            outcome=outcome,
            response=result.response,
            folded=folded,
        )
    )
    NOTIFICATIONS.labels(row.channel, outcome).inc()
    if result.ok:
        row.status, row.sent_at, row.last_error = "sent", now, None
        ctx.emit(
            session,
            NotificationSent(
                notification_id=row.id,
                recipient=row.recipient,
                channel=row.channel,
                cause_type=row.event_type,
                cause_id=row.event_id,
                attempts=row.attempts,
            ),
            subject=row.subject,
            causation=cause_of(row),
        )
        return
    row.last_error = result.response
    if outcome == "retry":
        row.status, row.due_at = "pending", now + policy.delay(row.attempts)
        return
    row.status = "failed"
    fallback = next_channel(session, row, person)
    if fallback is not None:
        session.add(
            Delivery(
                id=uuid.uuid4().hex,
                event_id=row.event_id,
                event_type=row.event_type,
                event_source=row.event_source,
                event_time=row.event_time,
                correlation_id=row.correlation_id,
                subject=row.subject,
                recipient=row.recipient,
                channel=fallback,
                category=row.category,
                critical=row.critical,
                fold=False,
                reason="fallback",
                due_at=now,
                created_at=now,
                title=row.title,
                short=row.short,
                full=row.full,
            )
        )
        NOTIFICATIONS.labels(fallback, "fallback").inc()
        return
    total = sum(
        session.exec(
            select(Delivery.attempts).where(Delivery.event_id == row.event_id, Delivery.recipient == row.recipient)
        ).all()
    )
    ctx.emit(
        session,
        NotificationFailed(
            notification_id=row.id,
            recipient=row.recipient,
            channel=row.channel,
            cause_type=row.event_type,
            cause_id=row.event_id,
            attempts=total,
            error=(result.response or "failed")[:500],
        ),
        subject=row.subject,
        causation=cause_of(row),
    )


def next_channel(session: Session, row: Delivery, person: Recipient | None) -> str | None:
    """The recipient's next enabled channel for this category that has not been tried for this event."""
    if person is None:
        return None
    tried = set(
        session.exec(
            select(Delivery.channel).where(Delivery.event_id == row.event_id, Delivery.recipient == row.recipient)
        ).all()
    )
    off = set(person.muted.get(row.category, []))
    names = [c["name"] for c in person.channels if c.get("name") not in off]
    if row.channel in names:
        names = names[names.index(row.channel) + 1 :]
    return next((n for n in names if n not in tried), None)
