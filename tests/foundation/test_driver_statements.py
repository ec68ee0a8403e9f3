"""The consumer path's statements on SQLite go to the driver (shared/db/driver.py) and store
exactly what SQLAlchemy's own INSERT would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, MetaData, String, Table, event, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel.sql.sqltypes import UTCDateTime

from shared.db.driver import fetch, insert_rows
from shared.db.store import Store
from shared.messaging.inbox import Inbox, insert_many

metadata = MetaData()
inbox = Inbox(metadata)
rows_table = Table(
    "probe_rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False, unique=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("flag", Boolean, nullable=False),
    Column("doc", JSON, nullable=False),
    Column("note", String(50), default="from python"),
)
AT = datetime(2026, 12, 3, 1, 2, 3, 456789, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    store = Store("probe", f"sqlite:///{tmp_path / 'probe.db'}", metadata)
    store.create_all()
    yield store
    store.dispose()


def statements_through_sqlalchemy(store: Store) -> list[str]:
    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_rows_go_to_the_driver_and_read_back_as_sqlalchemys_own(store):
    row = {"name": "甲", "at": AT, "flag": True, "doc": {"k": [1, "二"]}, "note": "given"}
    seen = statements_through_sqlalchemy(store)
    with store.transaction() as session:
        insert_many(session, rows_table, [row, dict(row, name="乙", flag=False)])
    assert seen == []  # not one statement through SQLAlchemy's execution
    with store.transaction() as session:
        session.execute(insert(rows_table), [dict(row, name="丙")])
    with store.engine.connect() as connection:
        raw = connection.exec_driver_sql("SELECT name, at, flag, doc, note FROM probe_rows ORDER BY id").all()
        typed = connection.execute(select(rows_table.c.at, rows_table.c.doc).order_by(rows_table.c.id)).all()
    assert raw[0][1:] == raw[2][1:]  # the same text, number and JSON as SQLAlchemy's INSERT stores
    assert [r.name for r in raw] == ["甲", "乙", "丙"] and raw[1].flag == 0
    assert {t.at.replace(tzinfo=UTC) for t in typed} == {AT} and typed[0].doc == {"k": [1, "二"]}


def test_a_table_with_python_side_defaults_is_left_to_sqlalchemy(store):
    with store.transaction() as session:
        assert not insert_rows(session.connection(), rows_table, [{"name": "x", "at": AT, "flag": True, "doc": {}}])
        insert_many(session, rows_table, [{"name": "x", "at": AT, "flag": True, "doc": {}}])
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT note FROM probe_rows").scalar() == "from python"


def test_a_duplicate_key_is_sqlalchemys_integrity_error(store):
    with store.transaction() as session:
        inbox.record_many(session, "notify", [("/linli/t", "e-1", "t")])
    with pytest.raises(IntegrityError), store.transaction() as session:
        inbox.record_many(session, "notify", [("/linli/t", "e-1", "t")])


def test_the_inbox_read_goes_to_the_driver(store):
    with store.transaction() as session:
        inbox.record_many(session, "notify", [("/linli/t", f"e-{i}", "t") for i in range(3)])
    seen = statements_through_sqlalchemy(store)
    with store.transaction(readonly=True) as session:
        found = inbox.seen_among(session, "notify", [("/linli/t", "e-1"), ("/linli/t", "e-9"), ("/other", "e-2")])
    assert found == {("/linli/t", "e-1")}
    assert seen == []


def test_an_update_goes_to_the_driver_and_stores_what_sqlalchemys_would(store):
    from sqlalchemy import bindparam, update

    from shared.db.driver import write

    later = datetime(2026, 12, 4, 5, 6, 7, 89, tzinfo=UTC)
    rows = [{"name": n, "at": AT, "flag": False, "doc": {}, "note": "n"} for n in ("甲", "乙", "丙")]
    with store.transaction() as session:
        session.execute(insert(rows_table), rows)
    move = update(rows_table).where(rows_table.c.name == bindparam("who")).values(at=bindparam("when"), flag=True)
    seen = statements_through_sqlalchemy(store)
    with store.transaction() as session:
        assert write(session.connection(), move, {"who": "甲", "when": later}) == 1
        assert write(session.connection(), move, {"who": "nobody", "when": later}) == 0
    assert seen == []
    with store.transaction() as session:  # the same change through SQLAlchemy, for comparison
        session.execute(move, {"who": "乙", "when": later})
    with store.engine.connect() as connection:
        raw = connection.exec_driver_sql("SELECT name, at, flag FROM probe_rows ORDER BY id").all()
    assert raw[0][1:] == raw[1][1:] != raw[2][1:]  # the same text and number as SQLAlchemy's UPDATE stores


stamps = Table(
    "probe_stamps", metadata, Column("id", Integer, primary_key=True), Column("at", UTCDateTime(), nullable=True)
)
READ_STAMPS = select(stamps.c.id, stamps.c.at).order_by(stamps.c.id)


def test_utc_datetimes_read_through_the_driver_as_through_sqlalchemy(store):
    """SQLite holds what SQLAlchemy wrote as naive UTC text; rows written by other tools may carry an
    offset or a ``Z``, or fewer digits. Every form reads back as the same aware UTC datetime either way."""
    texts = [
        "2026-12-03 01:02:03.456789",
        "2026-12-03 01:02:03",
        "2026-12-03T01:02:03.456",
        "2026-12-03T09:02:03.456789+08:00",
        "2026-12-02T20:02:03.456789-05:00",
        "2026-12-03T01:02:03.456789Z",
        None,
    ]
    with store.transaction() as session:
        session.execute(insert(stamps), [{"at": AT}])
        connection = session.connection()
        for text in texts:
            connection.exec_driver_sql("INSERT INTO probe_stamps (at) VALUES (?)", (text,))
    with store.transaction(readonly=True) as session:
        fast = [(r.id, r.at) for r in fetch(session.connection(), READ_STAMPS)]
        slow = [(r.id, r.at) for r in session.execute(READ_STAMPS.where(stamps.c.id > 0)).all()]
    assert fast == slow
    assert fast[0][1] == AT and fast[0][1].tzinfo is not None and fast[-1][1] is None
    assert {at.utcoffset() for _, at in fast[:-1]} == {timedelta(0)}
    assert len({at for _, at in fast[1:4]}) == 3 and fast[4][1] == fast[5][1] == fast[6][1] == AT


def test_utc_datetimes_are_written_through_the_driver_as_sqlalchemy_writes_them(store):
    """Aware datetimes in any zone, with and without microseconds, in years of one to four digits, are
    stored as the same text by the driver's INSERT as by SQLAlchemy's; a naive one is refused by both."""
    zones = [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]
    values = [
        (AT + timedelta(days=d, microseconds=-AT.microsecond if d % 2 else 0)).astimezone(z)
        for d in (-739_000, -700_000, -300_000, 0, 1, 2, 40_000)
        for z in zones
    ]
    with store.transaction() as session:
        connection = session.connection()
        assert insert_rows(connection, stamps, [{"at": v} for v in values])  # the driver's INSERT
        session.execute(insert(stamps), [{"at": v} for v in values])  # SQLAlchemy's
        texts = [t for (t,) in connection.exec_driver_sql("SELECT at FROM probe_stamps ORDER BY id").all()]
    assert texts[: len(values)] == texts[len(values) :]
    assert texts[0].startswith("000") and texts[3 * len(zones)] == "2026-12-03 01:02:03.456789"
    assert "2026-12-04 01:02:03.000000" in texts  # microseconds kept when there are none
    naive = datetime(2026, 12, 3, 1, 2, 3)
    with pytest.raises(Exception, match="timezone"), store.transaction() as session:
        insert_rows(session.connection(), stamps, [{"at": naive}])
    with pytest.raises(Exception, match="timezone"), store.transaction() as session:
        session.execute(insert(stamps), [{"at": naive}])
