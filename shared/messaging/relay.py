"""The outbox relay: publishes each service's pending outbox rows to Redis.

A :class:`OutboxRelay` per service publishes pending rows with ``XADD`` (pipelined, capped with
``MAXLEN ~``) and marks them sent only after the XADDs succeeded (PostgreSQL: the claiming transaction
commits then; SQLite: a short write transaction of its own, so the writer turn is not held across Redis).
While Redis is down, writes keep succeeding; the relay retries with exponential backoff and
publishes everything once Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from redis.exceptions import ResponseError
from sqlalchemy import (
    CursorResult,
    Engine,
    LargeBinary,
    PoolProxiedConnection,
    Select,
    Update,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from shared import tracing
from shared.clock import Clock, utcnow
from shared.db.driver import fetch
from shared.db.sqlite import WouldWait, no_busy_wait
from shared.messaging.connection import sync_client
from shared.messaging.outbox import Outbox
from shared.messaging.streams import EVENT_FIELD, TYPE_FIELD, StreamNames, encode_entry

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("linli.relay")

T = TypeVar("T")
ClaimedRow = Sequence[Any]
"""A claimed row ``(id, stream, event_type, payload bytes)``: a SQLAlchemy row or psycopg's tuple."""


class _Claim:
    """A batch of rows marked sent in a transaction still open: committed only after its XADDs."""

    def fetch(self) -> list[ClaimedRow]:
        """The claimed rows ``(id, stream, event_type, payload bytes)`` in id order."""
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError


class _ReadClaim(_Claim):
    """SQLite: the oldest pending rows read in a read transaction, marked sent after their XADDs by a
    short write transaction of their own (:meth:`mark`; the relay's loop runs it on the event loop).

    A claim held in a write transaction across the XADDs (as on PostgreSQL) would hold the process's
    SQLite writer turn for a Redis round trip: the event loop's next unit of work waited for it, so
    whenever the relay's thread or Redis lost its core on a loaded machine the loop stalled with it
    (docs/benchmarks.md, eighth session). Other relays of the database (another process or runtime)
    are kept off the rows by :class:`_RelayLock` meanwhile; ids only grow under SQLite's one writer,
    so ``id BETWEEN first AND last`` marks exactly the rows read.
    """

    def __init__(self, engine: Engine, lock: _RelayLock, read: Select[Any], mark: Update) -> None:
        self._engine = engine
        self._mark = mark
        self._lock: _RelayLock | None = lock
        lock.acquire()
        try:
            with engine.execution_options(linli_readonly=True).connect() as conn:
                self.rows: list[ClaimedRow] = list(fetch(conn, read))  # the statement built once, on the sqlite3 driver
        except BaseException:
            self.rollback()
            raise
        if not self.rows:
            self.rollback()

    def fetch(self) -> list[ClaimedRow]:
        return self.rows

    def commit(self) -> None:
        if self._lock is None:
            return
        try:
            self.mark()
        finally:
            self.rollback()

    def mark(self) -> None:
        """Mark the rows sent (the write transaction alone: the relay lock stays held)."""
        with self._engine.begin() as conn:
            conn.execute(self._mark, {"now": utcnow(), "first": self.rows[0][0], "last": self.rows[-1][0]})

    def rollback(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()


class _RelayLock:
    """Keeps a SQLite database's relays (one per runtime, in any process) from publishing the same rows:
    ``flock`` on a file beside the database, held from reading a batch until it is marked sent."""

    def __init__(self, database: str | None) -> None:
        self._path = f"{database}-relay.lock" if database and database != ":memory:" else None
        self._fd: int | None = None
        self._local = threading.Lock()  # an in-memory database is this process's alone

    def acquire(self) -> None:
        self._local.acquire()
        if self._path is not None:
            try:
                if self._fd is None:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._local.release()
                raise

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._local.release()

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class _PipelinedClaim(_Claim):
    """Claimed on PostgreSQL in libpq pipeline mode: the statement is sent at once and its rows are
    fetched later, so the server claims while the relay writes the previous batch to Redis."""

    def __init__(self, held: _HeldConnections, sql: str, batch: int) -> None:
        self._held = held
        self._pooled: PoolProxiedConnection | None = held.take()
        self._conn = cast("psycopg.Connection[Any]", self._pooled.driver_connection)  # PostgreSQL: psycopg 3
        self.rows: list[ClaimedRow] | None = None
        self._pipeline: contextlib.AbstractContextManager[psycopg.Pipeline] | None = None
        try:
            self._pipeline = self._conn.pipeline()
            self._pipeline.__enter__()
            self._conn.execute(_PG_CLAIM_SETTINGS, prepare=False)
            # not prepared: psycopg preparing it in pipeline mode made the send wait for the server
            self._cursor = self._conn.cursor()
            self._cursor.execute(sql, {"now": utcnow(), "batch": batch}, prepare=False, binary=True)
        except BaseException:
            self.rollback()
            raise

    def fetch(self) -> list[ClaimedRow]:
        """The claimed rows, waiting for the server's answer the first time."""
        if self.rows is None:
            try:
                rows = self._cursor.fetchall()
                self._end_pipeline()
            except BaseException:
                self.rollback()
                raise
            self.rows = sorted(rows, key=_row_id)
        return self.rows

    def _end_pipeline(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.__exit__(None, None, None)

    def commit(self) -> None:
        self._end(commit=True)

    def rollback(self) -> None:
        self._end(commit=False)

    def _end(self, *, commit: bool) -> None:
        pooled, self._pooled = self._pooled, None
        if pooled is None:
            return
        try:
            if commit:
                self._end_pipeline()
                self._conn.commit()
            else:
                try:
                    self._end_pipeline()
                finally:
                    self._conn.rollback()
        except BaseException:
            pooled.close()
            raise
        self._held.give(pooled)


class _HeldConnections:
    """Pooled PostgreSQL connections a relay keeps between the claims of a backlog, sparing a pool
    checkout (and its ping) per batch; they go back to the pool when the backlog is done."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._idle: list[PoolProxiedConnection] = []

    def take(self) -> PoolProxiedConnection:
        return self._idle.pop() if self._idle else self._engine.raw_connection()

    def give(self, pooled: PoolProxiedConnection) -> None:
        self._idle.append(pooled)

    def return_all(self) -> None:
        while self._idle:
            self._idle.pop().close()


def _row_id(row: ClaimedRow) -> int:
    row_id: int = row[0]
    return row_id


# For a claim's transaction on PostgreSQL: walk ix_outbox_unsent in id order rather than sort the whole
# backlog (what the planner picks for a table not analyzed yet), and do not wait for the WAL flush at
# commit: a commit lost in a server crash leaves its rows pending, so they are published again, the
# duplicate that a crash between XADD and commit causes as well (consumers' inboxes absorb it).
_PG_CLAIM_SETTINGS = (
    "SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true),"
    " set_config('synchronous_commit', 'off', true)"
)
# id = ANY(ARRAY(…)) finds the claimed rows by primary key whatever the planner's statistics say; the
# payload comes back as its UTF-8 bytes (binary results), what XADD sends, with no decoding and encoding.
_PG_CLAIM = (
    "UPDATE {table} SET sent_at = %(now)s WHERE id = ANY(ARRAY(SELECT id FROM {table} WHERE sent_at IS NULL"
    " ORDER BY id LIMIT %(batch)s FOR UPDATE SKIP LOCKED))"
    " RETURNING id, stream, event_type, convert_to(payload, 'UTF8')"
)


class OutboxRelay:
    """Publishes one store's pending outbox rows; one per service per process.

    On PostgreSQL a batch is claimed with one statement, ``UPDATE outbox SET sent_at = now WHERE id IN
    (the oldest pending ids FOR UPDATE SKIP LOCKED) RETURNING …``, in a transaction that commits only
    after the batch's XADDs succeeded and rolls back otherwise; :meth:`run` sends the claim of the next
    batch before writing the current one to Redis, and reads it after. On SQLite the batch is read under
    a lock file and marked sent after its XADDs (:class:`_ReadClaim`: the writer turn is never held
    across Redis). Either way a row is marked sent only once it is on the stream, and replicas never
    publish the same row.
    """

    def __init__(
        self,
        engine: Engine,
        outbox: Outbox,
        redis_url: str,
        names: StreamNames,
        *,
        batch: int = 500,
        maxlen: int | None = 1_000_000,
        retention_hours: int = 24,
        clock: Clock | None = None,
        idle_poll_s: float = 0.5,
        cluster: bool = False,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.names = names
        self.batch = batch
        self.maxlen = maxlen
        self.retention = timedelta(hours=retention_hours)
        self.clock = clock or Clock()
        self.idle_poll_s = idle_poll_s
        # on a cluster the pipeline is split per node; it is not a transaction, so that is allowed
        self._redis = sync_client(redis_url, cluster=cluster, socket_timeout=5, socket_connect_timeout=2)
        self._cluster = cluster
        self._keys: dict[str, str] = {}  # logical stream -> key
        self._heads: dict[str, bytes] = {}  # logical stream -> its XADD packed up to the payload
        self._tails: dict[str, bytes] = {}  # event type -> the packed ``type`` field after the payload
        self._wakeup: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0  # the event loop's thread: a commit there wakes the relay without a thread hop
        self.published = 0
        self.stopping = False
        self._last_purge = utcnow()
        # On SQLite (one writer at a time) a second claim would only wait for the first to commit.
        self.overlaps = engine.dialect.name == "postgresql"
        self._read, self._mark = self._sqlite_statements()
        self._lock = None if self.overlaps else _RelayLock(engine.url.database)
        self._pg_claim = _PG_CLAIM.format(table=outbox.table.name)
        self._held = _HeldConnections(engine)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-relay")

    def _sqlite_statements(self) -> tuple[Select[Any], Update]:
        """The oldest pending rows (payload as UTF-8 bytes), and marking a run of ids sent (SQLite)."""
        t = self.outbox.table
        read = (
            select(t.c.id, t.c.stream, t.c.event_type, sql_cast(t.c.payload, LargeBinary))
            .where(t.c.sent_at.is_(None))
            .order_by(t.c.id)
            .limit(self.batch)
        )
        mark = (
            update(t)
            .where(t.c.id.between(bindparam("first"), bindparam("last")), t.c.sent_at.is_(None))
            .values(sent_at=bindparam("now"))
        )
        return read, mark

    def wake(self) -> None:
        """Tell the relay new rows were committed (safe from any thread)."""
        wakeup = self._wakeup
        if self._loop is None or wakeup is None or wakeup.is_set():
            return
        if threading.get_ident() == self._loop_thread:  # a commit on the event loop: no self-pipe write needed
            wakeup.set()
            return
        try:  # noqa: SIM105 - on every commit; cheaper than contextlib.suppress
            self._loop.call_soon_threadsafe(wakeup.set)
        except RuntimeError:  # loop closed during shutdown
            pass

    def claim(self) -> _Claim:
        """Claim the oldest pending rows (up to ``batch``): on PostgreSQL marked sent in a transaction left
        open, on SQLite read under the relay lock and marked sent when the claim commits."""
        if self._lock is None:
            return _PipelinedClaim(self._held, self._pg_claim, self.batch)
        return _ReadClaim(self.engine, self._lock, self._read, self._mark)

    def publish(self, claimed: _Claim) -> int:
        """XADD a claimed batch in id order, then commit it; roll it back if Redis fails."""
        rows = self._xadd(claimed)
        claimed.commit()
        self.published += len(rows)
        return len(rows)

    def _xadd(self, claimed: _Claim) -> list[ClaimedRow]:
        """XADD a claimed batch in id order (the claim is rolled back if Redis fails); its rows."""
        spans: list[Any] = []
        try:
            rows = claimed.fetch()
            if rows:
                send, keys = self._pipelined(rows) if self._cluster else self._packed(rows)
                if tracing.ENABLED:
                    spans = tracing.publishing(self.outbox.default_stream, rows, keys)
                send()
        except BaseException as exc:
            tracing.end(spans, exc)
            claimed.rollback()
            raise
        tracing.end(spans)
        return rows

    def _pipelined(self, rows: list[ClaimedRow]) -> tuple[Callable[[], Any], dict[str, str]]:
        """A Redis Cluster: the batch's XADDs queued on a redis-py pipeline (split per node when sent); the
        call that sends them, and the keys of the batch's streams."""
        pipe = self._redis.pipeline(transaction=False)
        keys: dict[str, str] = {}
        for _id, stream, event_type, payload in rows:
            key = keys.get(stream) or keys.setdefault(stream, self.names.events(stream))
            if self.maxlen:
                pipe.xadd(key, encode_entry(payload, event_type), maxlen=self.maxlen, approximate=True)
            else:
                pipe.xadd(key, encode_entry(payload, event_type))
        return pipe.execute, keys

    def _packed(self, rows: list[ClaimedRow]) -> tuple[Callable[[], None], dict[str, str]]:
        """One Redis: the batch's XADDs packed in the Redis protocol as redis-py's pipeline would send them;
        the call that sends them (:meth:`_send`), and the keys of the streams.

        ``XADD <key> [MAXLEN ~ <n>] * cloudevent <payload> type <event type>``: everything but the payload
        is packed once per stream and per event type, and the payload is the stored UTF-8 bytes. redis-py
        packed each command argument by argument (type checks, encoding, length headers): about half of
        the relay's CPU per row (docs/benchmarks.md, twelfth session).
        """
        heads, tails = self._heads, self._tails
        pieces: list[bytes] = []
        append = pieces.append
        for _id, stream, event_type, payload in rows:
            head = heads.get(stream)
            if head is None:
                head = heads[stream] = self._head(stream)
            tail = tails.get(event_type)
            if tail is None:
                tail = tails[event_type] = b"\r\n" + _bulk(TYPE_FIELD.encode()) + _bulk(event_type.encode())
            append(head)
            append(b"$%d\r\n" % len(payload))
            append(payload)
            append(tail)
        packed, count = b"".join(pieces), len(rows)
        return lambda: self._send(packed, count), self._keys

    def _head(self, stream: str) -> bytes:
        """A stream's XADD up to its payload's length header (``*N``, ``XADD``, the key, the cap, ``*``, the field)."""
        key = self._keys[stream] = self.names.events(stream)
        cap = [b"MAXLEN", b"~", str(self.maxlen).encode()] if self.maxlen else []
        args = [b"XADD", key.encode(), *cap, b"*", EVENT_FIELD.encode()]
        return b"*%d\r\n" % (len(args) + 3) + b"".join(_bulk(arg) for arg in args)

    def _send(self, packed: bytes, count: int) -> None:
        """Send ``count`` packed XADDs on one pooled connection and read every reply before raising the first
        error, as redis-py's pipeline does (``transaction=False``: the XADDs before a failed one stay)."""
        pool = self._redis.connection_pool
        conn = pool.get_connection()
        try:
            conn.send_packed_command([packed])  # type: ignore[no-untyped-call]
            error: ResponseError | None = None
            read = conn.read_response
            for _ in range(count):
                try:
                    read(disable_decoding=True)
                except ResponseError as exc:  # e.g. WRONGTYPE: the connection is still in step
                    error = error or exc
            if error is not None:
                raise error
        finally:
            pool.release(conn)  # a connection or timeout error has disconnected it: the next use reconnects

    def _read_and_xadd(self) -> _ReadClaim:
        """SQLite, on the worker thread: read a batch under the relay lock and XADD it, leaving it
        unmarked (:meth:`_sqlite_step` marks it on the event loop)."""
        claimed = cast(_ReadClaim, self.claim())
        self._xadd(claimed)
        return claimed

    async def _sqlite_step(self) -> int:
        """One SQLite batch: read and XADDed on the worker thread, marked sent on the event loop.

        The mark is the relay's only write transaction. Run on its thread, it held the process's writer
        turn while that thread competed with the busy event loop for the GIL: each of its sqlite3 calls
        gives the GIL up and waits for it again (up to the 5 ms switch interval), so a 0.3 ms transaction
        held the turn for tens of ms. The loop's next unit of work waited up to 0.1 s for it, then went
        to the store's thread, and the units behind it followed there at GIL-convoy speed, hundreds of
        ms each (docs/benchmarks.md, tenth session). On the event loop the mark takes its turn like any
        unit of work (``no_busy_wait``); only if another process writes does it wait on the thread.
        """
        job = self._worker.submit(self._read_and_xadd)
        try:
            claimed = await _outcome(job)
        except asyncio.CancelledError:
            job.add_done_callback(_release_read_claim)  # XADDed and unmarked: published again later
            raise
        if not claimed.rows:
            return 0
        try:
            with no_busy_wait():
                claimed.mark()
        except WouldWait:  # another process is writing: wait for it on the thread, not here
            await _outcome(self._worker.submit(claimed.commit))  # marks and unlocks, even if cancelled meanwhile
        except BaseException:
            claimed.rollback()  # unlocks; the rows stay pending (published again)
            raise
        else:
            claimed.rollback()  # marked: only the relay lock is left to release
        self.published += len(claimed.rows)
        return len(claimed.rows)

    def publish_pending(self) -> int:
        """Publish up to ``batch`` pending rows; return how many were published.

        A crash between XADD and commit leaves the rows pending, so they are published again;
        consumers' inboxes absorb such duplicates.
        """
        try:
            return self.publish(self.claim())
        finally:
            self._held.return_all()

    def _step(self, claimed: _Claim | None) -> tuple[int, _Claim | None]:
        """Publish a batch (claimed now if not given); if it was full, claim the next one meanwhile.

        On PostgreSQL the next claim is sent before the XADDs and read after the commit, so the
        server works on it while Redis is written to. If the XADDs fail it is rolled back
        unpublished: no row may overtake an earlier one.
        """
        claimed = claimed or self.claim()
        ahead = None
        try:
            if self.overlaps and len(claimed.fetch()) >= self.batch:
                ahead = self.claim()
        except BaseException:
            claimed.rollback()
            raise
        try:
            count = self.publish(claimed)
            if ahead is not None:
                ahead.fetch()  # now: the claim after it must not run while it runs
        except BaseException:
            if ahead is not None:
                ahead.rollback()
            raise
        return count, ahead

    def _publish_backlog(self, claimed: _Claim | None) -> tuple[int, _Claim | None]:
        """Run steps while batches come full (up to 20 in one go, so a stop is not kept waiting);
        returns the last step's count and its claim ahead."""
        try:
            for _ in range(20):
                count, claimed = self._step(claimed)
                if self.stopping or (claimed is None and count < self.batch):
                    break
            return count, claimed
        finally:
            self._held.return_all()

    def purge_sent(self) -> int:
        """Delete rows published longer ago than the retention."""
        t = self.outbox.table
        with Session(self.engine) as session, session.begin():
            result = cast(
                "CursorResult[Any]", session.execute(delete(t).where(t.c.sent_at < utcnow() - self.retention))
            )
        return result.rowcount or 0

    async def run(self) -> None:
        """Publish forever; back off exponentially (up to 5 s) while Redis or the store fails."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._wakeup = asyncio.Event()
        backoff = 0.05
        claimed: _Claim | None = None  # the next batch, claimed while the previous one was published
        job: Future[tuple[int, _Claim | None]] | None = None  # the worker's steps, whose result holds the next claim
        try:
            while not self.stopping:
                # Cleared before the step, not after it: a commit landing while the step is in flight (after
                # its read) sets it again, and the loop steps once more at once. Cleared after the step, that
                # wake-up was lost and the row waited for the next commit or ``idle_poll_s``.
                self._wakeup.clear()
                try:
                    if claimed is None and utcnow() - self._last_purge > timedelta(minutes=10):
                        self._last_purge = utcnow()
                        await _outcome(self._worker.submit(self.purge_sent))
                    if self._lock is not None:  # SQLite
                        count = await self._sqlite_step()
                    else:
                        job, claimed = self._worker.submit(self._publish_backlog, claimed), None
                        count, claimed = await _outcome(job)
                        job = None
                    backoff = 0.05
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # Redis or the store is down: keep the rows, retry later
                    job = None  # a failed step rolled its claims back
                    log.warning("outbox relay cannot publish, retrying in %.2fs: %s", backoff, exc.__class__.__name__)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if claimed is not None or count >= self.batch or self._wakeup.is_set():
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self.idle_poll_s)
        finally:
            if claimed is not None:
                claimed.rollback()
            if job is not None:
                job.add_done_callback(_release_claim)

    def close(self) -> None:
        """Let the batch in hand finish (publish or roll back), then close the Redis client."""
        self._worker.shutdown(wait=True)
        self._held.return_all()
        if self._lock is not None:
            self._lock.close()
        self._redis.close()


def _bulk(arg: bytes) -> bytes:
    """One argument of a command in the Redis protocol (a bulk string)."""
    return b"$%d\r\n%s\r\n" % (len(arg), arg)


def _outcome(job: Future[T]) -> asyncio.Future[T]:
    """Await a worker's job; cancelling the waiter leaves the job running to its end."""
    return asyncio.shield(asyncio.wrap_future(job))


def _release_read_claim(done: Future[_ReadClaim]) -> None:
    """Release the lock of a batch read and XADDed after the relay stopped waiting for it (unmarked)."""
    if not done.cancelled() and done.exception() is None:
        done.result().rollback()


def _release_claim(done: Future[tuple[int, _Claim | None]]) -> None:
    """Roll back the claim steps returned after the relay stopped waiting for them (rows stay pending)."""
    if not done.cancelled() and done.exception() is None:
        _count, ahead = done.result()
        if ahead is not None:
            ahead.rollback()
