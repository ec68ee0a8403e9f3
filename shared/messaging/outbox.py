"""Transactional outbox: events are rows written in the same transaction as the state they describe.

A :class:`OutboxRelay` per service publishes pending rows to Redis with ``XADD`` (pipelined, capped
with ``MAXLEN ~``) and marks them sent. While Redis is down, writes keep succeeding; the relay
retries with exponential backoff and publishes everything once Redis is back.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import redis
from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.orm import Session

from shared.clock import Clock, utcnow
from shared.events.envelope import CloudEvent
from shared.messaging.streams import StreamNames, encode_entry

log = logging.getLogger("linli.outbox")


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

    def add(self, session: Session, event: CloudEvent, stream: str | None = None) -> CloudEvent:
        """Append ``event`` to the outbox inside the caller's transaction.

        ``stream`` is the logical stream (``tickets``, ``partner:CN-SJZ-LIB:out``); the relay
        adds the configured prefix.
        """
        session.execute(
            insert(self.table).values(
                event_id=event.id,
                stream=stream or self.default_stream,
                event_type=event.type,
                payload=event.to_json(),
                created_at=utcnow(),
            )
        )
        session.info["linli_outbox"] = True
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


class OutboxRelay:
    """Publishes one store's pending outbox rows; one per service per process."""

    def __init__(
        self,
        engine,
        outbox: Outbox,
        redis_url: str,
        names: StreamNames,
        *,
        batch: int = 500,
        maxlen: int | None = 1_000_000,
        retention_hours: int = 24,
        clock: Clock | None = None,
        idle_poll_s: float = 0.5,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.names = names
        self.batch = batch
        self.maxlen = maxlen
        self.retention = timedelta(hours=retention_hours)
        self.clock = clock or Clock()
        self.idle_poll_s = idle_poll_s
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
        self._wakeup: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.published = 0
        self.stopping = False
        self._last_purge = utcnow()

    def wake(self) -> None:
        """Tell the relay new rows were committed (safe from any thread)."""
        if self._loop is not None and self._wakeup is not None:
            try:
                self._loop.call_soon_threadsafe(self._wakeup.set)
            except RuntimeError:  # loop closed during shutdown
                pass

    def publish_pending(self) -> int:
        """Publish up to ``batch`` pending rows; return how many were published.

        On PostgreSQL rows are locked with ``SKIP LOCKED`` so replicas never publish the same
        row twice; consumers' inboxes absorb any duplicate that a crash between XADD and commit
        could still cause.
        """
        t = self.outbox.table
        with Session(self.engine) as session, session.begin():
            query = select(t.c.id, t.c.stream, t.c.event_type, t.c.payload).where(t.c.sent_at.is_(None)).order_by(t.c.id).limit(self.batch)
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = session.execute(query).all()
            if not rows:
                return 0
            pipe = self._redis.pipeline(transaction=False)
            for row in rows:
                key = self.names.events(row.stream)
                if self.maxlen:
                    pipe.xadd(key, encode_entry(row.payload, row.event_type), maxlen=self.maxlen, approximate=True)
                else:
                    pipe.xadd(key, encode_entry(row.payload, row.event_type))
            pipe.execute()
            session.execute(update(t).where(t.c.id.in_([r.id for r in rows])).values(sent_at=utcnow()))
        self.published += len(rows)
        return len(rows)

    def purge_sent(self) -> int:
        """Delete rows published longer ago than the retention."""
        t = self.outbox.table
        with Session(self.engine) as session, session.begin():
            result = session.execute(delete(t).where(t.c.sent_at < utcnow() - self.retention))
        return result.rowcount or 0

    async def run(self) -> None:
        """Publish forever; back off exponentially (up to 5 s) while Redis or the store fails."""
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        backoff = 0.05
        while not self.stopping:
            try:
                count = await asyncio.to_thread(self.publish_pending)
                backoff = 0.05
                if utcnow() - self._last_purge > timedelta(minutes=10):
                    self._last_purge = utcnow()
                    await asyncio.to_thread(self.purge_sent)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis or the store is down: keep the rows, retry later
                log.warning("outbox relay cannot publish, retrying in %.2fs: %s", backoff, exc.__class__.__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if count >= self.batch:
                continue
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.idle_poll_s)
            except TimeoutError:
                pass

    def close(self) -> None:
        self._redis.close()
