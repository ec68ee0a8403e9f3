"""SQLite as a service store: WAL, immediate write transactions, and writers that take turns.

SQLite allows one writer at a time. A second ``BEGIN IMMEDIATE`` waits in SQLite's busy handler,
which sleeps between retries (up to 100 ms at a time), so under concurrent requests most of a write's
latency would be sleep. Writers of one process therefore queue on a lock first and get the database
as soon as the previous writer has committed; other processes still meet in the busy handler.

Work that must not sleep in the busy handler (a unit of work run on the event loop, see
``Store.run``) runs inside :func:`no_busy_wait`: its write transaction still takes its turn among this
process's writers if it comes within :data:`NO_WAIT_TURN_S` (their transactions are short), and raises
:class:`WouldWait` otherwise, or at once when another process holds the database.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import ConnectionPoolEntry

WRITER_WAIT_S = 30.0
NO_WAIT_TURN_S = 0.1  # inside no_busy_wait: how long to wait for this process's other writers
BUSY_TIMEOUT_MS = 30_000
# SQLite's soft heap limit, for the whole process: every store and connection together. Each connection
# keeps a page cache of up to 2 MB, and `linli run` holds ~44 connections (six stores), so without it the
# caches alone could reach ~88 MB as the stores grow: the soak's RSS rose ~1 MB a minute, nearly all of it
# SQLite's memory, and levels off with the limit (docs/benchmarks.md, nineteenth session). Past the limit
# SQLite reuses cache pages instead of allocating more; the files' pages stay in the OS page cache, which
# every connection shares.
SOFT_HEAP_LIMIT_BYTES = 16 * 2**20
# How many WAL frames a commit may find before it checkpoints itself (see Checkpointer): ~200 MB of WAL at
# 4 KB pages, reached only under steady writes (at 200 reports/s of ~16 frames each, in ~15 s). With 10,000,
# figure 3's tail on a disk throttled to 1,000 writes/s was 38x its p50; with 50,000, 2.2-3.9x
# (docs/benchmarks.md, twentieth session).
BACKSTOP_PAGES = 50_000
_no_wait = threading.local()


class WouldWait(BaseException):
    """A write transaction started inside :func:`no_busy_wait` found another process writing.

    Control flow, not an error (hence ``BaseException``): a use case's or handler's ``except Exception``
    lets it through to ``Store.run``, which runs the work again where it may wait."""


@contextmanager
def no_busy_wait() -> Iterator[None]:
    """Within this block (in this thread), a write transaction that finds another process writing, or
    this process's writer turn taken for longer than :data:`NO_WAIT_TURN_S`, raises :class:`WouldWait`
    instead of waiting."""
    _no_wait.active = True
    try:
        yield
    finally:
        _no_wait.active = False


class TurnTakingConnection(sqlite3.Connection):
    """A pysqlite connection that hands the process's writer turn on once its transaction has ended.

    (The turn is released here, after the real COMMIT or ROLLBACK: SQLAlchemy's ``commit`` event
    fires before the DBAPI commit, too early for the next writer.)
    """

    turn: threading.Lock | None = None
    path = ""
    holds_turn = False
    waits = True  # SQLite's busy handler waits BUSY_TIMEOUT_MS; off after a write began in no_busy_wait
    per_unit = False  # its write transactions are begun by begin_write, not as SQLAlchemy's begin (kept.py)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._hand_on()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._hand_on()

    def close(self) -> None:  # e.g. a connection invalidated in the middle of a transaction
        try:
            super().close()
        finally:
            self._hand_on()

    def _hand_on(self) -> None:
        if self.holds_turn:
            self.holds_turn = False
            assert self.turn is not None  # set on connect, before a transaction can take the turn
            self.turn.release()


def sqlite_engine(url: str) -> Engine:
    """An engine for a SQLite URL (see the module's docstring); read-only transactions
    (execution option ``linli_readonly``) start with a plain ``BEGIN`` and wait for no writer."""
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30, "factory": TurnTakingConnection}
    )
    turn = threading.Lock()

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: TurnTakingConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None
        dbapi_conn.turn = turn
        dbapi_conn.path = path
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute(f"PRAGMA soft_heap_limit={SOFT_HEAP_LIMIT_BYTES}")
        cur.close()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: TurnTakingConnection, _record: ConnectionPoolEntry, _proxy: object) -> None:
        if not dbapi_conn.waits:  # whoever takes it next (a read on the driver, say) waits as usual
            _wait(dbapi_conn)

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_conn: TurnTakingConnection | None, _record: ConnectionPoolEntry) -> None:
        if dbapi_conn is not None:  # None: invalidated
            dbapi_conn.per_unit = False  # whoever takes it next begins as SQLAlchemy begins

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # BEGIN goes to the driver directly: through ``exec_driver_sql`` it cost ~50 µs of SQLAlchemy's
        # statement machinery, a quarter of an empty transaction (docs/benchmarks.md, seventh session)
        dbapi_conn = cast(TurnTakingConnection, conn.connection.dbapi_connection)  # the engine's factory
        if conn.get_execution_options().get("linli_readonly"):
            if not dbapi_conn.waits:
                _wait(dbapi_conn)
            if not dbapi_conn.in_transaction:  # else Store.reading began it on the driver
                dbapi_conn.execute("BEGIN")
            return
        if not dbapi_conn.per_unit:
            begin_write(dbapi_conn)

    return engine


def begin_write(dbapi_conn: TurnTakingConnection) -> None:
    """Take this process's writer turn and ``BEGIN IMMEDIATE`` (see the module's docstring)."""
    no_wait = getattr(_no_wait, "active", False)
    turn = dbapi_conn.turn
    assert turn is not None  # set on connect
    if not turn.acquire(timeout=NO_WAIT_TURN_S if no_wait else WRITER_WAIT_S):
        if no_wait:
            raise WouldWait(f"another writer of this process is taking long on {dbapi_conn.path}")
        raise TimeoutError(f"no write transaction on {dbapi_conn.path} within {WRITER_WAIT_S:.0f}s")
    try:
        if no_wait:
            _begin_or_refuse(dbapi_conn)
        else:
            if not dbapi_conn.waits:
                _wait(dbapi_conn)
            dbapi_conn.execute("BEGIN IMMEDIATE")
    except BaseException:
        turn.release()
        raise
    dbapi_conn.holds_turn = True


def _begin_or_refuse(dbapi_conn: TurnTakingConnection) -> None:
    """``BEGIN IMMEDIATE`` without the busy handler: :class:`WouldWait` if another process writes.

    The handler stays off afterwards, until a unit that may wait begins on the connection (or it leaves
    the pool): the event loop's kept write connection only ever begins this way, and turning the handler
    off and on again cost two PRAGMAs, ~14 µs of every write unit (docs/benchmarks.md, seventeenth
    session). Holding the write lock in WAL mode, the transaction's statements and its COMMIT meet no
    other writer, so no busy handler is asked for within it."""
    if dbapi_conn.waits:
        dbapi_conn.execute("PRAGMA busy_timeout=0")
        dbapi_conn.waits = False
    try:
        dbapi_conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
            raise WouldWait(f"another process is writing to {dbapi_conn.path}") from None
        raise


def _wait(dbapi_conn: TurnTakingConnection) -> None:
    """Turn SQLite's busy handler back on (see :func:`_begin_or_refuse`)."""
    dbapi_conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    dbapi_conn.waits = True


def on_disk(engine: Engine) -> bool:
    """Whether ``engine`` is a SQLite database in a file."""
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


class Checkpointer:
    """Moves SQLite's WAL checkpoints off the request path.

    By default the commit that finds 1,000 frames in the WAL copies them into the database and syncs both
    files, milliseconds on a fast disk and 20-140 ms on a slow one, landing on one unlucky request. A
    service's store instead checkpoints from this background thread every ``interval_s`` (``PASSIVE``:
    never waits for or blocks readers and writers), so its syncs wait on the disk while requests go on.

    Under steady writes its checkpoints never catch up with the last frame, so the WAL does not start over
    and grows until a commit reaches :data:`BACKSTOP_PAGES` frames and checkpoints itself, syncs included.
    That commit's stall is the price of each bound; a high bound pays it seldom (at 200 reports/s about
    every 15 s instead of every 3 s), and reads are no slower for a long WAL whose frames the thread
    has already copied (SQLite looks up only the frames not yet checkpointed). The file keeps its size when
    the WAL starts over: cutting it back (``journal_size_limit``) made the slow disk's tail worse, as the
    file then grew block by block again (docs/benchmarks.md, twentieth session).
    """

    def __init__(self, engine: Engine, interval_s: float = 1.0, backstop_pages: int = BACKSTOP_PAGES) -> None:
        self.path = cast(str, engine.url.database)  # a file's path: the store makes one only if on_disk(engine)
        self.interval_s = interval_s
        self._stop = threading.Event()

        @event.listens_for(engine, "connect")
        def _later_checkpoints(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
            dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={int(backstop_pages)}")

        self._thread = threading.Thread(target=self._run, name=f"sqlite-checkpoint-{Path(self.path).name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=1, check_same_thread=False)
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # busy or the file is gone: try again next time
                    continue
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
