"""SQLite as a service store: WAL, immediate write transactions, and writers that take turns.

SQLite allows one writer at a time. A second ``BEGIN IMMEDIATE`` waits in SQLite's busy handler,
which sleeps between retries (up to 100 ms at a time), so under concurrent requests most of a write's
latency would be sleep. Writers of one process therefore queue on a lock first and get the database
as soon as the previous writer has committed; other processes still meet in the busy handler.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

WRITER_WAIT_S = 30.0


class TurnTakingConnection(sqlite3.Connection):
    """A pysqlite connection that hands the process's writer turn on once its transaction has ended.

    (The turn is released here, after the real COMMIT or ROLLBACK: SQLAlchemy's ``commit`` event
    fires before the DBAPI commit, too early for the next writer.)
    """

    turn: threading.Lock | None = None
    holds_turn = False

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
            self.turn.release()


def sqlite_engine(url: str) -> Engine:
    """An engine for a SQLite URL (see the module's docstring); read-only transactions
    (execution option ``linli_readonly``) start with a plain ``BEGIN`` and wait for no writer."""
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30,
                                              "factory": TurnTakingConnection})
    turn = threading.Lock()

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: TurnTakingConnection, _record) -> None:
        dbapi_conn.isolation_level = None
        dbapi_conn.turn = turn
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        if conn.get_execution_options().get("linli_readonly"):
            conn.exec_driver_sql("BEGIN")
            return
        if not turn.acquire(timeout=WRITER_WAIT_S):
            raise TimeoutError(f"no write transaction on {path} within {WRITER_WAIT_S:.0f}s")
        dbapi_conn = conn.connection.dbapi_connection
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            turn.release()
            raise
        dbapi_conn.holds_turn = True

    return engine
