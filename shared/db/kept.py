"""Sessions a thread keeps between its units of work on a SQLite store.

A unit of work on a new :class:`~sqlmodel.Session` over a pooled connection spends ~90 µs (a read)
to ~130 µs (a write) on the session and the pool alone: building the session, checking a connection
out, the pool's reset (a second ``ROLLBACK``) on its return — as much as the statements of a small
read (docs/benchmarks.md, eleventh session). So each thread keeps one read and one write session,
each bound to a connection it holds, and a unit of work only begins and ends a transaction on it:
a ``BEGIN`` each time (a read sees every commit made before it began), closed by ``COMMIT`` or
``ROLLBACK``. The session's identity map is emptied at each close, as a new session's would be.

What a kept session must not carry from one unit to the next is let go of with it: after a write unit
that failed (it may have left listeners such as ``after_commit`` hooks on the session), after any
unit that left its connection broken or inside a transaction. A unit inside another of the same kind
on one thread gets a new session, as does every thread past :data:`KEPT_THREADS`.

A kept write session goes further: its SQLAlchemy transaction is begun once and left open, and each
unit of work is a transaction of the driver under it (:func:`~shared.db.sqlite.begin_write` as the unit is
claimed, :func:`commit_unit` at its end: flush, ``COMMIT``, the session's ``after_commit`` listeners).
Beginning and committing the session's own transaction cost ~50 µs of every write unit, more than its
``BEGIN IMMEDIATE`` and ``COMMIT`` (docs/benchmarks.md, seventeenth session). A unit therefore must not
commit or roll back the session itself; a failed one is rolled back and its session let go of, so the
next unit begins on a new one.

A read written against a connection (:meth:`Store.reading`, no ORM session) keeps a third connection
per thread the same way: its unit is a ``BEGIN`` and a ``ROLLBACK`` sent to its driver, ~6 µs against ~30 µs for a
kept read session.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import cast

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from shared.db.driver import note_connection, sqlite_driver
from shared.db.sqlite import TurnTakingConnection, begin_write

KEPT_THREADS = 3  # of one store (the event loop's, the store's own, one more): 9 of the pool's 15 connections


class _ThisThread(threading.local):
    def __init__(self) -> None:
        self.sessions: dict[bool, Session] = {}  # by readonly
        self.busy: set[bool] = set()
        self.reader: Connection | None = None  # for reads without a session
        self.reading = False


class KeptSessions:
    """The kept sessions of one store, for ``readonly`` (``True``) and writing units."""

    def __init__(self, read_engine: Engine, write_engine: Engine) -> None:
        self._engines = {True: read_engine, False: write_engine}
        self._thread = _ThisThread()
        self._all: list[Session] = []  # every thread's, closed by close()
        self._readers: list[Connection] = []  # every thread's connection for reads without a session
        self._lock = threading.Lock()

    def claim(self, readonly: bool) -> Session | None:
        """This thread's kept session for a unit, or ``None``: make a new one (one unit inside
        another on this thread, or too many threads). A write unit's transaction begins here
        (:class:`~shared.db.sqlite.WouldWait` or ``TimeoutError`` as its ``BEGIN`` would raise)."""
        here = self._thread
        if readonly in here.busy:
            return None
        session = here.sessions.get(readonly)
        if session is None:
            with self._lock:
                if len(self._all) >= 2 * KEPT_THREADS:
                    return None
                session = Session(bind=self._engines[readonly].connect(), expire_on_commit=False)
                self._all.append(session)
            if not readonly:
                _driver(session).per_unit = True
                session.connection()  # the session's transaction, left open: its begin adds no BEGIN
            here.sessions[readonly] = session
        session.info.clear()
        if not readonly:
            begin_write(_driver(session))
            note_connection(session, cast(Connection, session.bind))
        here.busy.add(readonly)
        return session

    def release(self, readonly: bool, session: Session, done: bool) -> None:
        """End the unit: close a read session (``ROLLBACK``), empty a write session committed by
        :func:`commit_unit`. ``done`` is ``False`` when the unit raised; then a writing session is let go of."""
        here = self._thread
        here.busy.discard(readonly)
        try:
            connection = session.bind
            assert isinstance(connection, Connection)
            if readonly:
                session.close()
                keep = not (connection.invalidated or connection.in_transaction())
            else:
                session.expunge_all()
                keep = done and not (connection.invalidated or _driver(session).in_transaction)
        except Exception:
            keep = False
        if not keep:
            here.sessions.pop(readonly, None)
            with self._lock:
                if session in self._all:
                    self._all.remove(session)
            _close(session)

    def claim_reader(self) -> Connection | None:
        """This thread's kept read connection, or ``None`` (a read inside another, too many threads)."""
        here = self._thread
        if here.reading:
            return None
        connection = here.reader
        if connection is None:
            with self._lock:
                if len(self._readers) >= KEPT_THREADS:
                    return None
                connection = self._engines[True].connect()
                self._readers.append(connection)
            here.reader = connection
        here.reading = True
        return connection

    def release_reader(self, connection: Connection) -> None:
        """End a read on the kept connection; one left broken or inside a transaction is let go of."""
        here = self._thread
        here.reading = False
        if connection.invalidated or connection.in_transaction():
            here.reader = None
            with self._lock:
                if connection in self._readers:
                    self._readers.remove(connection)
            connection.close()

    def close(self) -> None:
        """Close every thread's kept session and connection and give them back; threads start afresh."""
        with self._lock:
            sessions, self._all = self._all, []
            readers, self._readers = self._readers, []
            self._thread = _ThisThread()
        for session in sessions:
            _close(session)
        for connection in readers:
            connection.close()


def commit_unit(session: Session) -> None:
    """Commit a write unit on a kept session (:meth:`KeptSessions.claim`): what ``session.commit()``
    does, on the driver's transaction instead of the session's."""
    session.flush()
    driver = _driver(session)
    try:
        driver.commit()  # and the writer turn handed on (shared/db/sqlite.py)
    except sqlite3.Error as exc:
        raise DBAPIError.instance("COMMIT", None, exc, sqlite3.Error) from exc
    session.dispatch.after_commit(session)


def _driver(session: Session) -> TurnTakingConnection:
    return cast(TurnTakingConnection, sqlite_driver(cast(Connection, session.bind)))


def _close(session: Session) -> None:
    connection = session.bind
    try:
        session.close()
    finally:
        assert isinstance(connection, Connection)
        connection.close()  # back to the engine's pool
