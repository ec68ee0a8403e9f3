"""A service's own store: engine, unit of work, and its outbox/inbox tables."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, MetaData, text
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from shared.db.driver import sqlite_driver
from shared.db.engine import make_engine
from shared.db.kept import KeptSessions, commit_unit
from shared.db.sqlite import Checkpointer, WouldWait, no_busy_wait, on_disk

T = TypeVar("T")
TOUCHED = "linli_touched"


def touch(session: OrmSession, tag: str) -> None:
    """Mark ``session``'s transaction as having written ``tag`` (see :meth:`Store.after_commit`)."""
    session.info.setdefault(TOUCHED, set()).add(tag)


POSTGRES_THREADS = 4


class Store:
    """One service's database. ``transaction()`` is the unit of work every use case runs in."""

    def __init__(self, service: str, url: str, metadata: MetaData) -> None:
        self.service = service
        self.url = url
        self.metadata = metadata
        self.engine = make_engine(url)
        self._checkpointer = Checkpointer(self.engine) if on_disk(self.engine) else None
        self._read_engine = self.engine.execution_options(linli_readonly=True)
        self._after_commit: dict[str, list[Callable[[], None]]] = {}
        self._sqlite = self.engine.dialect.name == "sqlite"
        self._threads = 1 if self._sqlite else POSTGRES_THREADS
        self._executor: ThreadPoolExecutor | None = None
        self._queued = 0  # units of work handed to the store's thread(s) and not finished
        self._kept = KeptSessions(self._read_engine, self.engine) if on_disk(self.engine) else None

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run a unit of work ``fn(*args)`` (one transaction) for a coroutine, e.g. an HTTP route.

        On SQLite it runs right here on the event loop: the database is in the process, a unit of
        work takes a millisecond or two, and a hop to a thread and back costs about as much again in
        GIL hand-offs (docs/benchmarks.md). It waits up to 0.1 s for its turn among this process's
        writers (their transactions are short); if that is not enough, or another process is writing,
        it stops before writing anything and runs again on the store's one thread, which waits instead
        of the event loop; later work follows it there until that thread is idle. PostgreSQL work always runs
        on the store's :data:`POSTGRES_THREADS` threads, so that requests overlap their round trips.
        """
        if self._sqlite and not self._queued:
            try:
                with no_busy_wait():
                    return fn(*args)
            except WouldWait:
                pass
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix=f"{self.service}-store")
        self._queued += 1
        try:
            # in the caller's context (a route's trace span, say): run_in_executor alone would drop it
            context = contextvars.copy_context()
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, functools.partial(context.run, fn, *args)
            )
        finally:
            self._queued -= 1

    def after_commit(self, tag: str, callback: Callable[[], None]) -> None:
        """Call ``callback`` after each commit whose session was :func:`touch`-ed with ``tag``.

        The outbox tags its writes so that the relay wakes at once instead of polling.
        """
        self._after_commit.setdefault(tag, []).append(callback)

    @contextmanager
    def transaction(self, readonly: bool = False) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on error.

        ``readonly`` transactions only read: on SQLite they do not queue behind writers, and they end by
        rolling back as the session closes (a commit's bookkeeping cost a read about 5%, and a write
        slipped into a read is dropped rather than kept).
        """
        session = self._kept.claim(readonly) if self._kept is not None else None
        if session is None:
            with Session(self._read_engine if readonly else self.engine, expire_on_commit=False) as session:
                yield from self._unit(session, readonly)
            return
        done = False
        try:
            yield from self._unit(session, readonly, kept=True)
            done = True
        finally:
            self._kept.release(readonly, session, done)  # type: ignore[union-attr]

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction on a connection, without an ORM session: for reads written as Core
        statements (``shared.db.driver.fetch``), such as the lists residents open most. It always ends by
        rolling back. On SQLite the thread keeps the connection (:mod:`shared.db.kept`): the unit is a
        ``BEGIN`` and a ``ROLLBACK`` sent to the driver, about a sixth of a kept session's read unit."""
        connection = self._kept.claim_reader() if self._kept is not None else None
        if connection is None:
            with self._read_engine.connect() as fresh, fresh.begin() as transaction:
                yield fresh
                transaction.rollback()
            return
        # BEGIN and ROLLBACK straight on the driver: SQLAlchemy's Transaction (its events, its state
        # checks) cost ~15 µs of a ~20 µs unit. A Core statement run through the connection autobegins a
        # SQLAlchemy transaction inside this one (the engine's begin hook sees the driver's and adds no
        # BEGIN), which then ends it.
        driver = sqlite_driver(connection)
        try:
            driver.execute("BEGIN")
            try:
                yield connection
            finally:
                if connection.in_transaction():
                    connection.rollback()
                else:
                    driver.rollback()
        finally:
            self._kept.release_reader(connection)  # type: ignore[union-attr]

    def _unit(self, session: Session, readonly: bool, kept: bool = False) -> Iterator[Session]:
        if readonly:  # it ends as the session closes: ROLLBACK
            yield session
            return
        try:
            yield session
            if kept:  # a kept write session's transaction stays open: the unit's is the driver's
                commit_unit(session)
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
        for tag in session.info.pop(TOUCHED, ()):
            for callback in self._after_commit.get(tag, ()):
                callback()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def create_all(self) -> None:
        """Create tables directly (tests of the domain only; services use :meth:`upgrade`)."""
        self.metadata.create_all(self.engine)

    def dispose(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._checkpointer is not None:
            self._checkpointer.stop()
        if self._kept is not None:
            self._kept.close()
        self.engine.dispose()
