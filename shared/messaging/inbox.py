"""Idempotent inbox: each handled event id is recorded with its effects, in one transaction."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Table, insert, select
from sqlalchemy.orm import Session

from shared.clock import utcnow


class Inbox:
    """The ``inbox`` table of one service's store."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = Table(
            "inbox",
            metadata,
            Column("consumer_group", String(100), primary_key=True),
            Column("event_id", String(128), primary_key=True),
            Column("event_type", String(256), nullable=False),
            Column("handled_at", DateTime(timezone=True), nullable=False),
        )

    def claim(self, session: Session, group: str, event_id: str, event_type: str) -> bool:
        """Record ``event_id`` for ``group``; ``False`` if it was handled before.

        The row is flushed at once, so a replica racing on the same event fails on the primary
        key before any effect is written.
        """
        t = self.table
        seen = session.execute(
            select(t.c.event_id).where(t.c.consumer_group == group, t.c.event_id == event_id)
        ).first()
        if seen is not None:
            return False
        session.execute(
            insert(t).values(consumer_group=group, event_id=event_id, event_type=event_type, handled_at=utcnow())
        )
        return True

    def seen_among(self, session: Session, group: str, event_ids: list[str]) -> set[str]:
        """Which of ``event_ids`` this group handled before (one query for a whole batch)."""
        t = self.table
        found: set[str] = set()
        for start in range(0, len(event_ids), 500):
            chunk = event_ids[start:start + 500]
            found.update(session.execute(
                select(t.c.event_id).where(t.c.consumer_group == group, t.c.event_id.in_(chunk))).scalars())
        return found

    def record(self, session: Session, group: str, event_id: str, event_type: str) -> None:
        """Write the inbox row of an event known to be new (a racing replica fails on the key)."""
        session.execute(
            insert(self.table).values(consumer_group=group, event_id=event_id, event_type=event_type, handled_at=utcnow())
        )

    def seen(self, session: Session, group: str, event_id: str) -> bool:
        t = self.table
        return (
            session.execute(select(t.c.event_id).where(t.c.consumer_group == group, t.c.event_id == event_id)).first()
            is not None
        )
