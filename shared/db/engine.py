"""SQLAlchemy engines: SQLite (WAL, immediate write transactions) by default, PostgreSQL in production."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

WRITER_WAIT_S = 30.0


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for ``url``.

    SQLite runs in WAL mode and starts every writing transaction with ``BEGIN IMMEDIATE`` so that
    read-check-write rules (a reader's loan limit, a ticket's transition) cannot race; read-only
    transactions (``Store.transaction(readonly=True)``) start with a plain ``BEGIN``. Writers of one
    process take turns on a lock first: SQLite's own busy handler sleeps (up to 100 ms at a time)
    between retries, which under concurrent requests costs far more than the writes themselves.
    """
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        writer = threading.Lock()  # this process's writers queue here, not in SQLite's sleeping busy handler

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:
            # Reads (execution option ``linli_readonly``) take a snapshot and wait for no writer.
            if conn.get_execution_options().get("linli_readonly"):
                conn.exec_driver_sql("BEGIN")
                return
            if not writer.acquire(timeout=WRITER_WAIT_S):
                raise TimeoutError(f"no write transaction on {path} within {WRITER_WAIT_S:.0f}s")
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                writer.release()
                raise
            conn.info["linli_writer"] = True

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _sqlite_end(conn) -> None:
            if conn.info.pop("linli_writer", False):
                writer.release()

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)
