"""Statements of the consumer's path on SQLite, handed to the driver itself.

Every consumed batch reads the inbox and inserts its rows (and notify's messages). Through
SQLAlchemy a one-row statement costs 50–90 µs of statement machinery (cache key, compiled-cache
lookup, execution context, result wrapping) around 5 µs of sqlite3; at one event per batch that is
a good part of an event (docs/benchmarks.md, ninth session). As the store's ``BEGIN`` does
(:mod:`shared.db.sqlite`), these statements go to the sqlite3 connection of the session's
transaction: the SQL is compiled once by SQLAlchemy for the dialect, the values are converted by
the columns' own bind processors, and driver errors are raised as SQLAlchemy's
(``IntegrityError`` for a duplicate key) so callers see what an ``execute`` would raise.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError

Prepared = tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]  # the SQL, each value's processor
_inserts: dict[tuple[Table, str, tuple[str, ...]], Prepared | None] = {}


def sqlite_driver(connection: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under ``connection`` (in the transaction SQLAlchemy began on it)."""
    return connection.connection.driver_connection  # type: ignore[return-value]


def _compiled_insert(table: Table, columns: tuple[str, ...], dialect: Dialect) -> Prepared | None:
    """The INSERT of ``columns`` into ``table`` for ``dialect`` with each value's processor, or
    ``None`` when SQLAlchemy would add values of its own (a column's Python-side default)."""
    key = (table, dialect.name, columns)
    if key not in _inserts:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        order = list(compiled.positiontup or ())
        if set(order) != set(columns):  # defaults computed in Python: leave the statement to SQLAlchemy
            _inserts[key] = None
        else:
            processors: list[tuple[str, Callable[[Any], Any] | None]] = [
                (name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in order
            ]
            _inserts[key] = (str(compiled), processors)
    return _inserts[key]


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> bool:
    """Insert ``rows`` (dicts with the same keys) through the sqlite3 driver; ``False`` (nothing done)
    when the table needs SQLAlchemy's own execution (see :func:`_compiled_insert`)."""
    prepared = _compiled_insert(table, tuple(rows[0]), connection.dialect)
    if prepared is None:
        return False
    statement, processors = prepared
    values = [
        tuple(row[name] if process is None else process(row[name]) for name, process in processors) for row in rows
    ]
    try:
        if len(values) == 1:
            sqlite_driver(connection).execute(statement, values[0])
        else:
            sqlite_driver(connection).executemany(statement, values)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, values, exc, sqlite3.Error) from exc
    return True


def select_rows(connection: Connection, statement: str, params: Sequence[Any]) -> list[Any]:
    """The rows of a read (``?`` parameters) through the sqlite3 driver."""
    try:
        return sqlite_driver(connection).execute(statement, params).fetchall()
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, params, exc, sqlite3.Error) from exc
