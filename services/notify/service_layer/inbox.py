"""The in-app inbox commands: mark read, archive, read all; and what is new since an id (the live stream)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from services.notify.adapters.orm import Notification
from shared.errors import NotFound

NO_MESSAGE = "消息不存在 / no such message"


def mark(session: Session, user_id: str, note_id: int, field: str, now: datetime) -> Notification:
    """Set ``read_at`` or ``archived_at`` on the caller's own message (kept if already set).

    Someone else's message is answered as missing (404 ``not_found``), as is one that does not exist.
    """
    note = session.get(Notification, note_id)
    if note is None or note.recipient != user_id:
        raise NotFound(NO_MESSAGE)
    if getattr(note, field) is None:
        setattr(note, field, now)
        if field == "archived_at" and note.read_at is None:
            note.read_at = now
        session.add(note)
    return note


def read_all(session: Session, user_id: str, now: datetime) -> int:
    """Mark every unread message of ``user_id`` read; returns how many."""
    stmt = (
        update(Notification)
        .where(col(Notification.recipient) == user_id, col(Notification.read_at).is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).rowcount)


def newer_than(session: Session, user_id: str, after_id: int) -> list[Notification]:
    """Messages with an id above ``after_id``, oldest first (the live stream)."""
    return list(
        session.exec(
            select(Notification)
            .where(Notification.recipient == user_id, col(Notification.id) > after_id)
            .order_by(col(Notification.id))
            .limit(100)
        ).all()
    )


def last_id(session: Session, user_id: str) -> int:
    """The id of the newest message of ``user_id`` (0 when none)."""
    return session.exec(select(func.max(Notification.id)).where(Notification.recipient == user_id)).one() or 0
