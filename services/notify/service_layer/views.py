"""What notify shows through its API (reads only): messages, recipients, rules and the delivery log.

Times are shown in Asia/Shanghai (:func:`shared.clock.shown`); channel addresses are masked (they hold
tokens and addresses). Lists are cursor pages over a unique key (:mod:`shared.web.pages`).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, DateTime, Select, bindparam, func, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from services.notify.adapters.orm import Delivery, DeliveryAttempt, Notification, Recipient, Rule
from services.notify.domain.channels import mask_url
from services.notify.service_layer.scope import reaches
from shared.clock import SHANGHAI, shown
from shared.db.driver import fetch
from shared.db.lookup import get_or_404
from shared.errors import NotFound
from shared.web.pages import Page, PageQuery, keyset, page_of


def _moment(column: Any) -> ColumnElement[Any]:
    """A time column as a plain ``DateTime`` for :func:`keyset`, so that a cursor's time is read back as one
    (SQLModel's ``UTCDateTime`` decorator names no Python type, and its bind refuses the cursor's text)."""
    return type_coerce(column, DateTime(timezone=True))


def note(row: Any) -> dict[str, Any]:
    """One in-app message (a :class:`Notification`, or a row of its :data:`NOTE_COLUMNS`)."""
    return {
        "id": row.id,
        "event_type": row.event_type,
        "subject": row.subject,
        "title": row.title,
        "body": row.body,
        "category": row.category,
        "critical": row.critical,
        "created_at": _local(row.created_at),
        "read_at": _local(row.read_at),
        "archived_at": _local(row.archived_at),
    }


def _local(value: datetime | None) -> datetime | None:
    """:func:`shown`, one conversion fewer for the aware UTC times notify's columns give back (20 messages, 60
    times a page)."""
    if value is None or value.tzinfo is None:
        return shown(value)
    return value.astimezone(SHANGHAI)


NOTE_COLUMNS = (
    *("id", "event_type", "subject", "title", "body", "category", "critical"),
    *("created_at", "read_at", "archived_at"),
)
NOTE_KEY: tuple[ColumnElement[Any], ...] = (_moment(Notification.created_at), col(Notification.id))  # type: ignore[assignment]
"""The inbox's order, the same objects each time (see :func:`keyset`)."""


@lru_cache(maxsize=4)
def _inbox_query(unread: bool, archived: bool) -> Select[Any]:
    """The recipient's messages (the columns a message shows), built once per filter set."""
    table = Notification.__table__  # type: ignore[attr-defined]
    query = select(*(table.c[c] for c in NOTE_COLUMNS)).where(
        table.c.recipient == bindparam("recipient"),
        table.c.archived_at.is_not(None) if archived else table.c.archived_at.is_(None),
    )
    if unread:
        query = query.where(table.c.read_at.is_(None))
    return query  # type: ignore[no-any-return]


def inbox(
    connection: Connection, user_id: str, page: PageQuery, *, unread: bool = False, archived: bool = False
) -> Page[dict[str, Any]]:
    """The recipient's messages, newest first (archived ones only when asked).

    Only the columns a message shows are read, as rows, not ORM objects, on a connection (no ORM session:
    ``Runner.rows``); a first page (the one opened most: its statement is built once, see :func:`keyset`)
    goes through the driver on SQLite.
    """
    query = keyset(_inbox_query(unread, archived), NOTE_KEY, page, descending=True)
    params = {"recipient": user_id}
    # the cursor's values are in a next page's statement, new each time: SQLAlchemy's cache keys it by its shape
    rows = fetch(connection, query, params) if page.cursor is None else connection.execute(query, params).all()
    return page_of(rows, page, key=lambda n: (n.created_at, n.id), view=note)


def unread_count(session: Session, user_id: str) -> dict[str, int]:
    """How many of the recipient's messages are unread (archived ones do not count)."""
    count = session.exec(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.recipient == user_id,
            col(Notification.read_at).is_(None),
            col(Notification.archived_at).is_(None),
        )
    ).one()
    return {"unread": int(count)}


def recipient(person: Recipient | None, user_id: str) -> dict[str, Any]:
    """A recipient as shown through the API (defaults for someone never registered)."""
    if person is None:
        person = Recipient(user_id=user_id, display_name=user_id, channels=[], muted={})
    return {
        "user_id": person.user_id,
        "display_name": person.display_name,
        "roles": person.roles.split(","),
        "community": person.community,
        "categories": person.categories.split(","),
        "on_duty": person.on_duty,
        "language": person.language,
        "timezone": person.timezone,
        "quiet_hours": {"start": person.quiet_start, "end": person.quiet_end} if person.quiet_start else None,
        "digest_hour": person.digest_hour,
        "rate_limit": person.rate_limit,
        "rate_window_minutes": person.rate_window_minutes,
        "muted": person.muted or {},
        "channels": [{"name": c["name"], "url": mask_url(c["url"])} for c in person.channels or []],
    }


def preferences(session: Session, user_id: str) -> dict[str, Any]:
    """The caller's own preferences (defaults when never set)."""
    return recipient(session.get(Recipient, user_id), user_id)


NO_RECIPIENT = "接收人不存在 / no such recipient"


def registered(session: Session, user_id: str, communities: frozenset[str] | None = None) -> dict[str, Any]:
    """A registered recipient of ``communities`` (``None``: any), or 404."""
    person = get_or_404(session, Recipient, user_id, NO_RECIPIENT)
    if not reaches(communities, person.community):
        raise NotFound(NO_RECIPIENT)
    return recipient(person, user_id)


def recipients(session: Session, page: PageQuery, communities: frozenset[str] | None = None) -> Page[dict[str, Any]]:
    """Everyone notify can reach in ``communities`` (``None``: everywhere), by user id."""
    key = (col(Recipient.user_id),)
    query = select(Recipient)
    if communities is not None:
        query = query.where(col(Recipient.community).in_(sorted(communities)))
    rows = session.exec(keyset(query, key, page)).all()
    return page_of(rows, page, key=lambda r: (r.user_id,), view=lambda r: recipient(r, r.user_id))


def rule(row: Rule) -> dict[str, Any]:
    return {
        "event": row.event,
        "audiences": list(row.audiences),
        "category": row.category,
        "critical": row.critical,
        "template": row.template,
    }


def rules(session: Session, page: PageQuery) -> Page[dict[str, Any]]:
    """The routing rules in force, by event type."""
    key = (col(Rule.event),)
    rows = session.exec(keyset(select(Rule), key, page)).all()
    return page_of(rows, page, key=lambda r: (r.event,), view=rule)


def deliveries(
    session: Session,
    page: PageQuery,
    *,
    recipient: str | None = None,
    event_id: str | None = None,
    status: str | None = None,
    communities: frozenset[str] | None = None,
) -> Page[dict[str, Any]]:
    """The activity feed, newest first: deliveries with every attempt, by recipient, event and status;
    with ``communities``, only deliveries to recipients registered in them."""
    query = select(Delivery)
    if communities is not None:
        served = select(Recipient.user_id).where(col(Recipient.community).in_(sorted(communities)))
        query = query.where(col(Delivery.recipient).in_(served))
    if recipient:
        query = query.where(Delivery.recipient == recipient)
    if event_id:
        query = query.where(Delivery.event_id == event_id)
    if status:
        query = query.where(Delivery.status == status)
    key = (_moment(Delivery.created_at), col(Delivery.id))
    rows = session.exec(keyset(query, key, page, descending=True)).all()
    result = page_of(rows, page, key=lambda d: (d.created_at, d.id))
    ids = [r.id for r in result.items]
    attempts = (
        session.exec(
            select(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id).in_(ids)).order_by(col(DeliveryAttempt.id))
        ).all()
        if ids
        else []
    )
    log: dict[str, list[dict[str, Any]]] = {}
    for a in attempts:
        log.setdefault(a.delivery_id, []).append(
            {"attempt": a.attempt, "at": shown(a.at), "outcome": a.outcome, "response": a.response, "folded": a.folded}
        )
    items = [
        {
            "id": r.id,
            "event_id": r.event_id,
            "event_type": r.event_type,
            "recipient": r.recipient,
            "channel": r.channel,
            "category": r.category,
            "critical": r.critical,
            "reason": r.reason,
            "status": r.status,
            "attempts": r.attempts,
            "due_at": shown(r.due_at),
            "sent_at": shown(r.sent_at),
            "title": r.title,
            "last_error": r.last_error,
            "log": log.get(r.id, []),
        }
        for r in result.items
    ]
    return Page[dict[str, Any]](items=items, next_cursor=result.next_cursor)
