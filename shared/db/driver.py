"""Statements of the hot paths on SQLite, handed to the driver itself.

Through SQLAlchemy a one-row statement costs 50–90 µs of statement machinery (cache key,
compiled-cache lookup, execution context, result wrapping) around 5 µs of sqlite3: a good part of a
consumed event or of a ticket's create (docs/benchmarks.md, ninth and tenth sessions). As the
store's ``BEGIN`` does (:mod:`shared.db.sqlite`), these statements go to the sqlite3 connection of
the session's transaction: the SQL is compiled once by SQLAlchemy for the dialect, values are
converted by the columns' own bind processors and results by their result processors (so rows hold
what SQLAlchemy's would: datetimes, dicts, booleans), and driver errors are raised as SQLAlchemy's
(``IntegrityError`` for a duplicate key) so callers see what an ``execute`` would raise.

Each call does nothing on another database (``insert_row``/``insert_rows`` say so, :func:`fetch`
runs the statement through SQLAlchemy), so callers keep one code path for SQLite and PostgreSQL.
"""

from __future__ import annotations

import keyword
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Delete, Select, Table, Update, event, insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.engine.processors import str_to_datetime
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.orm import Session
from sqlmodel.sql.sqltypes import UTCDateTime

Process = Callable[[Any], Any] | None
_inserts: dict[tuple[Table, str, tuple[str, ...]], _Insert | None] = {}


_CONNECTION = "linli_connection"  # session.info: the connection its transaction began on


@event.listens_for(Session, "after_begin")
def _note_connection(session: Session, _transaction: Any, connection: Connection) -> None:
    session.info[_CONNECTION] = connection


@event.listens_for(Session, "after_transaction_end")
def _forget_connection(session: Session, _transaction: Any) -> None:
    session.info.pop(_CONNECTION, None)


def note_connection(session: Session, connection: Connection) -> None:
    """Note ``connection`` as the one of ``session``'s transaction, as its begin would (a kept session
    whose transaction stays open across units of work, :mod:`shared.db.kept`)."""
    session.info[_CONNECTION] = connection


def flushed(session: Session) -> Connection:
    """The connection of ``session``'s transaction, for a statement through this module, after the
    session's pending ORM changes are flushed as ``session.execute`` would first (autoflush): the
    statement sees them, and a row it writes comes after them.

    The connection is noted as the transaction begins on it and forgotten as any transaction of the
    session ends: ``session.connection()`` walks the session's transaction each time, and a create
    asked for it three times (~5 % of its instructions)."""
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
    connection: Connection | None = session.info.get(_CONNECTION)
    return connection if connection is not None else session.connection()


def sqlite_driver(connection: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under ``connection`` (in the transaction SQLAlchemy began on it)."""
    return connection.connection.driver_connection  # type: ignore[return-value]


def _raised(statement: str, params: Any, exc: sqlite3.Error) -> Exception:
    """The driver's error as SQLAlchemy raises it (``IntegrityError``, ``OperationalError`` …)."""
    return DBAPIError.instance(statement, params, exc, sqlite3.Error)


# -- INSERT ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Insert:
    """An INSERT compiled for a dialect: its SQL, and how a row's values become its parameters.

    ``take`` reads the values in the statement's order in one C call; only the columns with a bind
    processor (dates, JSON) are converted after it: a value-by-value loop over a ticket's 22 columns
    cost about as much as its INSERT."""

    sql: str
    take: Callable[[Mapping[str, Any]], Any]  # operator.itemgetter of the statement's columns
    convert: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, bind processor)
    single: bool  # one column: ``take`` gives the value, not a tuple

    def values(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        taken = self.take(row)
        if self.single:
            taken = (taken,)
        if not self.convert:
            return taken  # type: ignore[no-any-return]
        values = list(taken)
        for position, process in self.convert:
            values[position] = process(values[position])
        return tuple(values)


def _compiled_insert(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _Insert | None:
    """The INSERT of ``columns`` into ``table`` for ``dialect``, or ``None`` when SQLAlchemy would add
    values of its own (a column's Python-side default)."""
    key = (table, dialect.name, columns)
    if key not in _inserts:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        order = list(compiled.positiontup or ())
        if set(order) != set(columns) or not order:  # defaults computed in Python: leave it to SQLAlchemy
            _inserts[key] = None
        else:
            processors = [_bind_processor(table.c[name].type, dialect) for name in order]
            convert = tuple((i, p) for i, p in enumerate(processors) if p is not None)
            _inserts[key] = _Insert(str(compiled), itemgetter(*order), convert, len(order) == 1)
    return _inserts[key]


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> bool:
    """Insert ``rows`` (dicts with the same keys) through the sqlite3 driver; ``False`` (nothing done)
    on another database or when the table needs SQLAlchemy's own execution (see :func:`_compiled_insert`)."""
    if connection.dialect.name != "sqlite":
        return False
    prepared = _compiled_insert(table, tuple(rows[0]), connection.dialect)
    if prepared is None:
        return False
    values = [prepared.values(row) for row in rows]
    try:
        if len(values) == 1:
            sqlite_driver(connection).execute(prepared.sql, values[0])
        else:
            sqlite_driver(connection).executemany(prepared.sql, values)
    except sqlite3.Error as exc:
        raise _raised(prepared.sql, values, exc) from exc
    return True


def insert_row(connection: Connection, table: Table, row: dict[str, Any]) -> int | None:
    """Insert one row through the sqlite3 driver and return its rowid (the value of an ``INTEGER
    PRIMARY KEY`` left out of ``row``); ``None`` (nothing done) where :func:`insert_rows` would do nothing."""
    if connection.dialect.name != "sqlite":
        return None
    prepared = _compiled_insert(table, tuple(row), connection.dialect)
    if prepared is None:
        return None
    values = prepared.values(row)
    try:
        rowid = sqlite_driver(connection).execute(prepared.sql, values).lastrowid
    except sqlite3.Error as exc:
        raise _raised(prepared.sql, values, exc) from exc
    assert rowid is not None  # set by every INSERT into a table with rowids (all of this project's)
    return rowid


# -- UPDATE and DELETE ----------------------------------------------------------------------------

_Slot = tuple[str, Process, Any]  # a parameter's name, its bind processor, the statement's own value
_writes: dict[Update | Delete, tuple[str, tuple[_Slot, ...]] | None] = {}


def _compiled_write(statement: Update | Delete, dialect: Dialect) -> tuple[str, tuple[_Slot, ...]] | None:
    """The SQL of ``statement`` for ``dialect`` and each ``?``'s parameter, or ``None`` when SQLAlchemy
    must render it itself (lists expanded at execution, values rendered into the SQL)."""
    if statement not in _writes:
        compiled = statement.compile(dialect=dialect)
        names = compiled.positiontup
        if names is None or compiled.literal_execute_params or any(b.expanding for b in compiled.binds.values()):
            _writes[statement] = None
        else:
            slots = []
            for name in names:
                process = _bind_processor(compiled.binds[name].type, dialect)
                slots.append((name, process, compiled.params.get(name)))
            _writes[statement] = (compiled.string, tuple(slots))
    return _writes[statement]


def write(connection: Connection, statement: Update | Delete, params: Mapping[str, Any]) -> int:
    """Run a Core UPDATE or DELETE built once (a module constant) and return how many rows it changed:
    on SQLite straight to the sqlite3 driver, as :func:`insert_row` does for an INSERT (values converted
    by the columns' bind processors, driver errors raised as SQLAlchemy's); elsewhere through
    ``connection.execute``. Through SQLAlchemy's execute one such statement cost ~60 µs of statement
    machinery around the driver's few (docs/benchmarks.md, eleventh session)."""
    prepared = _compiled_write(statement, connection.dialect) if connection.dialect.name == "sqlite" else None
    if prepared is None:
        return int(connection.execute(statement, params).rowcount)
    sql, slots = prepared
    values = []
    for name, process, default in slots:
        value = params.get(name, default)
        values.append(value if process is None else process(value))
    try:
        return sqlite_driver(connection).execute(sql, values).rowcount
    except sqlite3.Error as exc:
        raise _raised(sql, values, exc) from exc


# -- SELECT ---------------------------------------------------------------------------------------


def select_rows(connection: Connection, statement: str, params: Sequence[Any]) -> list[Any]:
    """The rows of a read written in SQL (``?`` parameters) through the sqlite3 driver, as sqlite3
    returns them (no type conversion)."""
    try:
        return sqlite_driver(connection).execute(statement, params).fetchall()
    except sqlite3.Error as exc:
        raise _raised(statement, params, exc) from exc


_REQUIRED = object()  # a parameter the statement has no value for


@dataclass(frozen=True)
class _Read:
    """A SELECT compiled for SQLite with the processors of its parameters and of its columns.

    ``slots`` has one entry per ``?`` of ``sql``: the parameter's name, its index in an expanding
    parameter's list (``None`` for a plain one), its bind processor and the statement's own value.
    """

    sql: str
    slots: tuple[tuple[str, int | None, Process, Any], ...]
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, result processor) of converted columns
    row: type[tuple[Any, ...]]

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for name, index, process, default in self.slots:
            if name in params:
                value = params[name] if index is None else params[name][index]
                values.append(value if process is None else process(value))
            elif default is _REQUIRED:
                raise InvalidRequestError(f"A value is required for bind parameter {name!r}")
            else:
                values.append(default if index is None else default[index])
        return values

    def run(self, driver: sqlite3.Connection, params: Mapping[str, Any]) -> list[Any]:
        values = self.values(params)
        try:
            fetched = driver.execute(self.sql, values).fetchall()
        except sqlite3.Error as exc:
            raise _raised(self.sql, values, exc) from exc
        make = self.row._make  # type: ignore[attr-defined]
        if not self.results:
            return [make(raw) for raw in fetched]
        rows = []
        for raw in fetched:
            converted = list(raw)
            for position, process in self.results:
                converted[position] = process(converted[position])
            rows.append(make(converted))
        return rows


class _RowMixin:
    """What SQLAlchemy's ``Row`` offers besides a named tuple's fields: ``row._mapping``."""

    __slots__ = ()

    @property
    def _mapping(self) -> dict[str, Any]:
        return self._asdict()  # type: ignore[attr-defined, no-any-return]


@cache
def _row_class(keys: tuple[str, ...]) -> type[tuple[Any, ...]]:
    return type("Row", (_RowMixin, namedtuple("Row", keys)), {"__slots__": ()})


class _Select:
    """A SELECT compiled for a dialect, and its reads for each length of its expanding parameters'
    lists (``IN`` a list given at execution: one ``?`` per item, as SQLAlchemy expands it)."""

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        self.statement = statement
        self.dialect = dialect
        self.compiled = statement.compile(dialect=dialect)
        names = self.compiled.positiontup or ()
        self.expanding = tuple(name for name in names if self.compiled.binds[name].expanding)
        self.defaults = self.compiled.params  # the statement's own values (literals, LIMIT)
        self.keys = tuple(statement.selected_columns.keys())
        self._reads: dict[tuple[int, ...], _Read] = {}

    def handled(self) -> bool:
        """Whether the driver can run it as SQLAlchemy would: rows named as SQLAlchemy's, no names
        SQLAlchemy escapes, no values rendered into the SQL."""
        compiled, keys = self.compiled, self.keys
        plain = all(k.isidentifier() and not keyword.iskeyword(k) and not k.startswith("_") for k in keys)
        return (
            plain
            and len(set(keys)) == len(keys)
            and compiled.positiontup is not None
            and not compiled.escaped_bind_names
            and not compiled.literal_execute_params
        )

    def read(self, params: Mapping[str, Any]) -> _Read:
        sizes = tuple(len(params[n] if n in params else self.defaults[n]) for n in self.expanding)
        read = self._reads.get(sizes)
        if read is None:
            read = self._reads[sizes] = self._prepare(sizes)
        return read

    def _prepare(self, sizes: tuple[int, ...]) -> _Read:
        compiled, dialect, defaults = self.compiled, self.dialect, self.defaults
        names = list(compiled.positiontup or ())
        sql, origin = compiled.string, {}
        if self.expanding:
            lists = {name: [None] * size for name, size in zip(self.expanding, sizes, strict=True)}
            state = compiled.construct_expanded_state({**dict.fromkeys(names), **lists})
            sql, names = state.statement, list(state.positiontup or ())
            origin = {e: (name, i) for name, items in state.parameter_expansion.items() for i, e in enumerate(items)}
        slots = []
        for name in names:
            source, index = origin.get(name, (name, None))
            bind = compiled.binds[source]
            process = _bind_processor(bind.type, dialect)
            value = defaults.get(source)
            if value is None and bind.required:
                default: Any = _REQUIRED
            elif process is None:
                default = value
            else:
                default = process(value) if index is None else [process(v) for v in value]
            slots.append((source, index, process, default))
        results = []
        for position, column in enumerate(self.statement.selected_columns):
            convert = _result_processor(column.type, dialect)
            if convert is not None:
                results.append((position, convert))
        return _Read(sql, tuple(slots), tuple(results), _row_class(self.keys))


def _bind_processor(type_: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """The parameter's bind processor; for SQLModel's ``UTCDateTime`` on SQLite one function doing what
    its two layers do (to UTC, then the dialect's text), as :func:`_result_processor` does the other way:
    a ticket's create converts eight of them."""
    if isinstance(type_, UTCDateTime) and dialect.name == "sqlite":
        return _utc_text
    return type_.dialect_impl(dialect).bind_processor(dialect)  # type: ignore[no-any-return]


def _utc_text(value: datetime | None) -> str | None:
    """An aware datetime as SQLite holds UTC: naive text with microseconds, the text SQLAlchemy's
    DATETIME writes (``2026-12-06 01:04:56.132461``); a naive one is refused as ``UTCDateTime`` refuses it."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.utcoffset() is None:
            raise ValueError("Datetime values must have timezone information.")
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:-6]  # without its "+00:00"


def _result_processor(type_: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column's result processor; for SQLModel's ``UTCDateTime`` on SQLite one function doing what
    its two layers do (the dialect's parse, then the UTC zone): a list of 20 reports converts 60 of
    them, and the layers cost more than the parse (docs/benchmarks.md, eleventh session)."""
    if isinstance(type_, UTCDateTime) and dialect.name == "sqlite":
        return _utc_datetime
    return type_.dialect_impl(dialect).result_processor(dialect, None)  # type: ignore[no-any-return]  # sqlite3 has no type codes


def _utc_datetime(value: str | None) -> datetime | None:
    """SQLite holds UTC as naive text: parsed with its zone appended (one C call), since
    ``datetime.replace(tzinfo=...)`` after the parse costs several times the parse itself. Text that
    carries its own offset is parsed as it is and moved to UTC."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value + "+00:00")
    except ValueError:
        parsed: datetime = str_to_datetime(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


MAX_SELECTS = 512
_selects: dict[tuple[Select[Any], str], _Select | None] = {}


def _select_for(statement: Select[Any], dialect: Dialect) -> _Select | None:
    key = (statement, dialect.name)
    if key not in _selects:
        if len(_selects) >= MAX_SELECTS:  # statements are meant to be built once; bounded all the same
            _selects.clear()
        compiled = _Select(statement, dialect)
        _selects[key] = compiled if compiled.handled() else None
    return _selects[key]


def fetch(connection: Connection, statement: Select[Any], params: Mapping[str, Any] | None = None) -> Sequence[Any]:
    """The rows of a Core SELECT with named parameters: on SQLite through the sqlite3 driver, as
    named tuples holding what SQLAlchemy's rows hold (``row.created_at`` a datetime, JSON decoded);
    elsewhere, or for a statement it does not handle, through ``connection.execute``.

    The statement is compiled once and kept by identity: it must be built once (a module constant,
    an ``lru_cache``'d builder), not per call.
    """
    params = params or {}
    if connection.dialect.name == "sqlite":
        compiled = _select_for(statement, connection.dialect)
        if compiled is not None:
            return compiled.read(params).run(sqlite_driver(connection), params)
    return connection.execute(statement, params).all()
