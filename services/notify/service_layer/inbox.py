"""The in-app inbox: list, unread count, mark read, archive, and what is new since an id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from services.notify.adapters.orm import Notification


def listing(
    session: Session, user_id: str, *, unread: bool = False, archived: bool = False, limit: int = 50
) -> list[Notification]:
    """The recipient's messages, newest first (archived ones only when asked)."""
    query = select(Notification).where(Notification.recipient == user_id)
    query = query.where(
        col(Notification.archived_at).is_not(None) if archived else col(Notification.archived_at).is_(None)
    )
    if unread:
        query = query.where(col(Notification.read_at).is_(None))
    query = query.order_by(col(Notification.created_at).desc(), col(Notification.id).desc()).limit(min(limit, 200))
    return list(session.exec(query).all())


def unread_count(session: Session, user_id: str) -> int:
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.recipient == user_id,
            col(Notification.read_at).is_(None),
            col(Notification.archived_at).is_(None),
        )
    ).one()


def mark(session: Session, user_id: str, note_id: int, field: str, now: datetime) -> Notification | None:
    """Set ``read_at`` or ``archived_at`` on the caller's own message (kept if already set)."""
    note = session.get(Notification, note_id)
    if note is None or note.recipient != user_id:
        return None
    if getattr(note, field) is None:
        setattr(note, field, now)
        if field == "archived_at" and note.read_at is None:
            note.read_at = now
        session.add(note)
    return note


def read_all(session: Session, user_id: str, now: datetime) -> int:
    stmt = (
        update(Notification)
        .where(Notification.recipient == user_id, col(Notification.read_at).is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount


def newer_than(session: Session, user_id: str, after_id: int) -> list[Notification]:
    """Messages with an id above ``after_id``, oldest first (the live stream)."""
    return list(
        session.exec(
            select(Notification)
            .where(Notification.recipient == user_id, Notification.id > after_id)
            .order_by(col(Notification.id))
            .limit(100)
        ).all()
    )


def last_id(session: Session, user_id: str) -> int:
    return session.exec(select(func.max(Notification.id)).where(Notification.recipient == user_id)).one() or 0
