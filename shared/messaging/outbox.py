"""Transactional outbox: events are rows written in the same transaction as the state they describe.

This module is the table and the call that appends to it; ``relay.py`` publishes the rows.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.db.driver import flushed, insert_rows
from shared.db.store import touch
from shared.events.envelope import CloudEvent


class Outbox:
    """The ``outbox`` table of one service's store, and the call that appends to it."""

    def __init__(self, metadata: MetaData, default_stream: str) -> None:
        self.default_stream = default_stream
        self.table = Table(
            "outbox",
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("event_id", String(128), nullable=False, unique=True),
            Column("stream", String(200), nullable=False),
            Column("event_type", String(256), nullable=False),
            Column("payload", Text, nullable=False),
            Column("created_at", DateTime(timezone=True), nullable=False),
            Column("sent_at", DateTime(timezone=True), nullable=True),
        )
        Index(
            "ix_outbox_unsent",
            self.table.c.id,
            sqlite_where=self.table.c.sent_at.is_(None),
            postgresql_where=self.table.c.sent_at.is_(None),
        )
        Index("ix_outbox_sent_at", self.table.c.sent_at)
        self._insert = insert(self.table)  # built once: its compiled form is cached by identity

    def add(self, session: Session, event: CloudEvent, stream: str | None = None) -> CloudEvent:
        """Append ``event`` to the outbox inside the caller's transaction.

        ``stream`` is the logical stream (``tickets``, ``partner:CN-SJZ-LIB:out``); the relay
        adds the configured prefix.
        """
        row = {
            "event_id": event.id,
            "stream": stream or self.default_stream,
            "event_type": event.type,
            "payload": event.to_json(),
            "created_at": utcnow(),
        }
        if not insert_rows(flushed(session), self.table, [row]):  # SQLite: to the driver (shared/db/driver.py)
            session.execute(self._insert, row)
        touch(session, "outbox")
        return event

    def pending_count(self, session: Session) -> tuple[int, float | None]:
        """How many rows wait to be published, and the age in seconds of the oldest."""
        from sqlalchemy import func

        row = session.execute(
            select(func.count(), func.min(self.table.c.created_at)).where(self.table.c.sent_at.is_(None))
        ).one()
        oldest = row[1]
        if oldest is None:
            return int(row[0]), None
        from shared.clock import as_utc

        return int(row[0]), (utcnow() - as_utc(oldest)).total_seconds()
