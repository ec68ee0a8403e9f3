"""SQLAlchemy engines: SQLite (WAL, immediate write transactions) by default, PostgreSQL in production."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine

from shared.db.sqlite import sqlite_engine


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for ``url``.

    SQLite (:mod:`shared.db.sqlite`) runs in WAL mode and starts every writing transaction with
    ``BEGIN IMMEDIATE`` so that read-check-write rules (a reader's loan limit, a ticket's transition)
    cannot race; read-only transactions (``Store.transaction(readonly=True)``) start with a plain
    ``BEGIN``; a process's writers take turns.
    """
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return sqlite_engine(url)
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)
