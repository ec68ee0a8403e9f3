"""Idempotent inbox: each handled event is recorded with its effects, in one transaction.

An event is identified as CloudEvents does, by its ``source`` and ``id`` together: two producers
(partner libraries, say) may use the same id for different events, and each is applied once. A row
keyed ``(consumer_group, event_id, source)`` says the group applied that event.

A row whose ``source`` is ``''`` (:data:`UNKNOWN_SOURCE`) was recorded before the inbox kept sources
(every row that existed when the column was added): it matches its id from any source, so an event
applied before the upgrade and delivered again (reclaimed, redriven, replayed) still has no second
effect. CloudEvents sources are never empty, so no real event is recorded with it.

Also :func:`insert_many`, the multi-row INSERT the consumer path writes its rows with. On SQLite the
batch's inbox read and its INSERTs go to the driver (:mod:`shared.db.driver`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Column, DateTime, MetaData, String, Table, bindparam, insert, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.db.driver import insert_rows, select_rows

if TYPE_CHECKING:
    import psycopg

    from shared.events.envelope import CloudEvent

EventKey = tuple[str, str]
"""``(source, id)``: what identifies a CloudEvent."""

UNKNOWN_SOURCE = ""
"""The ``source`` of rows recorded without one (before the column existed): they match any source."""


def event_key(event: CloudEvent) -> EventKey:
    """The ``(source, id)`` of a CloudEvent envelope."""
    return (event.source, event.id)


class Inbox:
    """The ``inbox`` table of one service's store."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = Table(
            "inbox",
            metadata,
            Column("consumer_group", String(100), primary_key=True),
            Column("event_id", String(128), primary_key=True),
            # last in the key: a lookup by (group, id) is a prefix of it, which the match of rows
            # without a source needs; '' for rows recorded without one (see the module's docstring)
            Column("source", String(256), primary_key=True, server_default=UNKNOWN_SOURCE),
            Column("event_type", String(256), nullable=False),
            Column("handled_at", DateTime(timezone=True), nullable=False),
        )
        # PostgreSQL: one primary-key lookup per (source, id) (LATERAL … LIMIT 1 cannot become a join).
        # A plain ``event_id = ANY(ids)`` is planned, on a table not analyzed yet, as a scan of the whole
        # group filtered by the array: 110 ms per 500 ids at 20,000 rows, growing with the table. The
        # probe walks the (group, id) prefix of the key and keeps a row of the same source or of none.
        self._pg_seen = text(
            f"SELECT x.source, x.id FROM unnest(:sources, :ids) AS x(source, id), LATERAL (SELECT 1"
            f" FROM {self.table.name} i WHERE i.consumer_group = :group AND i.event_id = x.id"
            f" AND (i.source = x.source OR i.source = '' OR x.source = '') LIMIT 1) AS hit"
        ).bindparams(bindparam("sources", type_=ARRAY(String)), bindparam("ids", type_=ARRAY(String)))
        self._sqlite_seen: dict[int, str] = {}  # number of ids -> the SQLite read of that many (500 at most)

    def seen_among(self, session: Session, group: str, keys: Sequence[EventKey]) -> set[EventKey]:
        """Which of the ``(source, id)`` keys this group handled before (one query for a whole batch;
        on PostgreSQL the keys go as two array parameters). A key matches a row of the same id whose
        source is the same, or ``''`` (a row recorded before the inbox kept sources)."""
        return self._seen(session, group, keys) if keys else set()

    def _seen(self, session: Session, group: str, keys: Sequence[EventKey]) -> set[EventKey]:
        if session.get_bind().dialect.name == "postgresql":
            params = {"sources": [s for s, _ in keys], "ids": [i for _, i in keys], "group": group}
            return {(row.source, row.id) for row in session.execute(self._pg_seen, params)}
        sources: dict[str, set[str]] = {}  # event id -> the sources recorded for it
        ids = list(dict.fromkeys(event_id for _, event_id in keys))
        connection = session.connection()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for event_id, source in select_rows(connection, self._sqlite_read(len(chunk)), [group, *chunk]):
                sources.setdefault(event_id, set()).add(source)
        return {
            (source, event_id)
            for source, event_id in keys
            if (recorded := sources.get(event_id))
            and (source == UNKNOWN_SOURCE or source in recorded or UNKNOWN_SOURCE in recorded)
        }

    def _sqlite_read(self, count: int) -> str:
        """The SQLite read of the rows of ``count`` ids of a group (the key's prefix)."""
        statement = self._sqlite_seen.get(count)
        if statement is None:
            marks = ", ".join("?" * count)
            statement = self._sqlite_seen[count] = (
                f"SELECT event_id, source FROM {self.table.name} WHERE consumer_group = ? AND event_id IN ({marks})"
            )
        return statement

    def seen(self, session: Session, group: str, key: EventKey) -> bool:
        """Whether this group handled the event ``(source, id)`` (or its id without a source)."""
        return bool(self._seen(session, group, [key]))

    def record(self, session: Session, group: str, key: EventKey, event_type: str) -> None:
        """Write the inbox row of the event ``(source, id)`` known to be new (a racing replica fails on the key)."""
        source, event_id = key
        session.execute(
            insert(self.table).values(
                consumer_group=group, event_id=event_id, source=source, event_type=event_type, handled_at=utcnow()
            )
        )

    def record_many(self, session: Session, group: str, events: Sequence[tuple[str, str, str]]) -> None:
        """Write the inbox rows of ``(source, event_id, event_type)`` triples known to be new, in one statement."""
        handled_at = utcnow()
        rows = [
            {
                "consumer_group": group,
                "event_id": event_id,
                "source": source,
                "event_type": event_type,
                "handled_at": handled_at,
            }
            for source, event_id, event_type in events
        ]
        insert_many(session, self.table, rows)


def insert_many(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in the session's transaction.

    On PostgreSQL with ``COPY … FROM STDIN``, which takes a third of an executemany's time; values
    go as they are, so this is for tables of plain columns (text, numbers, booleans, times; a time
    for a column without time zone is taken as UTC, as :func:`shared.clock.as_utc` reads it back).
    Errors are raised as SQLAlchemy's (``IntegrityError`` for a duplicate key), as an INSERT would.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        if connection.dialect.name != "sqlite" or not insert_rows(connection, table, rows):
            connection.execute(insert(table), rows)
        return
    quote = connection.dialect.identifier_preparer
    columns = list(rows[0])
    statement = f"COPY {quote.format_table(table)} ({', '.join(quote.quote(c) for c in columns)}) FROM STDIN"
    driver = cast("psycopg.Connection[Any]", connection.connection.driver_connection)  # PostgreSQL: psycopg 3
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    except driver.Error as exc:
        raise DBAPIError.instance(statement, None, exc, driver.Error) from exc
