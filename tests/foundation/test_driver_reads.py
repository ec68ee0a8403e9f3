"""Tickets' create and list statements on SQLite go to the driver (shared/db/driver.py): reads return
the very rows SQLAlchemy returns (types included), writes store what SQLAlchemy's INSERT would, and on
PostgreSQL everything still goes through SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    insert,
    literal,
    select,
)
from sqlmodel import select as orm_select
from sqlmodel.sql.sqltypes import UTCDateTime

from services.tickets.adapters.orm import Category, Ticket, TicketHistory, outbox
from services.tickets.adapters.orm import metadata as tickets_metadata
from services.tickets.service_layer.common import insert_now, record
from services.tickets.service_layer.views import Similar, list_tickets, similar_open
from shared.db.driver import fetch
from shared.db.rows import new_row
from shared.db.store import Store
from shared.events.envelope import CloudEvent
from shared.web.pages import PageQuery

metadata = MetaData()
probe = Table(
    "probe_reads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("utc", UTCDateTime, nullable=True),
    Column("flag", Boolean, nullable=True),
    Column("doc", JSON, nullable=False),
    Column("score", Float, nullable=True),
)
AT = datetime(2026, 12, 3, 1, 2, 3, 456789, tzinfo=UTC)
READ = (
    select(probe.c.id, probe.c.name, probe.c.at, probe.c.utc, probe.c.flag, probe.c.doc, probe.c.score)
    .where(
        probe.c.name.in_(bindparam("names", expanding=True)),  # a list whose length varies per call
        probe.c.at >= bindparam("since"),  # a datetime converted by the column's bind processor
        probe.c.id.in_([literal(1), literal(2), literal(3), literal(4)]),  # values compiled into the statement
    )
    .order_by(probe.c.id.desc())
    .limit(10)
)
ROWS = [
    {"name": "甲", "at": AT, "utc": AT, "flag": True, "doc": {"k": [1, "二"]}, "score": 1.5},
    {"name": "乙", "at": AT + timedelta(hours=1), "utc": None, "flag": False, "doc": [], "score": None},
    {"name": "丙", "at": AT - timedelta(days=1), "utc": AT, "flag": None, "doc": {}, "score": 2.0},
    {"name": "丁", "at": AT, "utc": AT, "flag": True, "doc": {"x": None}, "score": 0.0},
]


def sqlalchemy_statements(store: Store) -> list[str]:
    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


@pytest.fixture
def store(tmp_path):
    store = Store("probe", f"sqlite:///{tmp_path / 'probe.db'}", metadata)
    store.create_all()
    with store.transaction() as session:
        session.execute(insert(probe), ROWS)
    yield store
    store.dispose()


@pytest.mark.parametrize("names", [["甲", "乙", "丙", "丁"], ["乙"], ["甲", "丁"], []])
def test_a_read_returns_sqlalchemys_rows_with_their_types(store, names):
    params = {"names": names, "since": AT}
    with store.engine.connect() as connection:
        expected = connection.execute(READ, params).all()
        seen = sqlalchemy_statements(store)
        got = fetch(connection, READ, params)
    assert seen == []  # the read reached sqlite3 without SQLAlchemy's execution
    assert [tuple(r) for r in got] == [tuple(r) for r in expected]
    assert [[type(v) for v in r] for r in got] == [[type(v) for v in r] for r in expected]
    assert [[getattr(v, "tzinfo", None) for v in r] for r in got] == [
        [getattr(v, "tzinfo", None) for v in r] for r in expected
    ]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine._fields == theirs._fields and dict(mine._mapping) == dict(theirs._mapping)
        assert (mine.at, mine.doc, mine.flag) == (theirs.at, theirs.doc, theirs.flag)
    if names == ["甲", "乙", "丙", "丁"]:
        assert [r.name for r in got] == ["丁", "乙", "甲"]  # 丙 is before `since`


def test_a_read_without_a_required_value_is_refused(store):
    with store.engine.connect() as connection, pytest.raises(Exception, match="since"):
        fetch(connection, READ, {"names": ["甲"]})


def test_on_postgresql_a_read_goes_through_sqlalchemy(pg_database):
    store = Store("probe", pg_database("reads"), metadata)
    try:
        store.create_all()
        with store.transaction() as session:
            session.execute(insert(probe), ROWS)
        seen = sqlalchemy_statements(store)
        with store.engine.connect() as connection:
            got = fetch(connection, READ, {"names": ["甲", "丁"], "since": AT})
        assert len(seen) == 1 and [r.name for r in got] == ["丁", "甲"] and got[1].doc == {"k": [1, "二"]}
    finally:
        store.dispose()


# -- tickets' create and list ----------------------------------------------------------------------


@pytest.fixture
def tickets(tmp_path):
    store = Store("tickets", f"sqlite:///{tmp_path / 'tickets.db'}", tickets_metadata)
    store.create_all()
    yield store
    store.dispose()


MANHOLE = Category(code="manhole", name="井盖", response_hours=2, resolution_hours=24)


def an_event(kind: str) -> CloudEvent:
    return CloudEvent(id=f"e-{kind}", source="/linli/tickets", type=kind, time=AT, data={})


def a_ticket(number: int, **fields) -> Ticket:
    at = AT + timedelta(minutes=number)
    values = dict(
        id=f"T{number:012X}",
        category="manhole",
        title=f"井盖 {number}",
        description="缺失",
        community="3502",
        building="7",
        lat=24.48,
        lon=118.09,
        reporter="resident:a",
        contact={"phone": "138"},
        attributes={"depth": number},
        created_at=at,
        updated_at=at,
        first_response_due=at + timedelta(hours=2),
        resolution_due=at + timedelta(days=1),
    )
    return new_row(Ticket, **{**values, **fields})


def test_a_create_inserts_through_the_driver_and_keeps_the_ticket_in_the_session(tickets):
    """The ticket stays tracked (a later change is an UPDATE); its history entry, never changed once
    written, is stored with its key but left out of the session."""
    seen = sqlalchemy_statements(tickets)
    with tickets.transaction() as session:
        ticket = insert_now(session, a_ticket(1))
        entry = record(session, ticket, at=AT, actor="resident:a", action="open", from_status=None)
        outbox.add(session, an_event("linli.tickets.opened.v1"))
        assert seen == []  # the ticket, its history entry and the event: not one statement through SQLAlchemy
        stored_entry = session.get(TicketHistory, entry.id)  # loaded: the entry itself was not kept
        assert stored_entry is not entry and (stored_entry.ticket_id, stored_entry.action) == (ticket.id, "open")
        ticket.status = "acknowledged"  # a stored row: the change is an UPDATE
    assert any(s.startswith("UPDATE ticket") for s in seen)
    with tickets.transaction(readonly=True) as session:
        stored = session.exec(orm_select(Ticket)).one()
        assert (stored.status, stored.contact, stored.attributes) == ("acknowledged", {"phone": "138"}, {"depth": 1})
        assert stored.created_at.replace(tzinfo=UTC) == AT + timedelta(minutes=1)
        assert session.exec(orm_select(TicketHistory)).one().ticket_id == ticket.id
        assert session.execute(select(outbox.table.c.event_type)).scalar() == "linli.tickets.opened.v1"


def test_an_outbox_row_comes_after_the_changes_made_before_it(tickets):
    """As ``session.execute`` would, the driver's append flushes pending changes first."""
    with tickets.transaction() as session:
        session.add(a_ticket(1))
        outbox.add(session, an_event("t"))
        order = (
            session.connection()
            .exec_driver_sql("SELECT 'ticket', rowid FROM ticket UNION ALL SELECT 'outbox', id FROM outbox")
            .all()
        )
    assert [kind for kind, _ in order] == ["ticket", "outbox"]


def test_the_list_and_similar_reports_read_through_the_driver_as_through_sqlalchemy(tickets):
    with tickets.transaction() as session:
        for number in range(1, 6):
            insert_now(session, a_ticket(number, status="closed" if number == 2 else "submitted"))
    seen = sqlalchemy_statements(tickets)
    with tickets.transaction(readonly=True) as session:
        first = list_tickets(session.connection(), reporter="resident:a", page=PageQuery(limit=2))
        mine = list_tickets(session.connection(), communities=frozenset({"3502", "3503"}), status="open")
        new = a_ticket(9)
        similar = [Similar.model_validate(s) for s in similar_open(session, new, MANHOLE)]
    assert not [s for s in seen if s.lstrip().startswith("SELECT ticket")]  # the lists went to the driver
    assert [t.id for t in first.items] == ["T000000000005", "T000000000004"] and first.next_cursor
    assert first.items[0].created_at == AT + timedelta(minutes=5)
    assert [t.id for t in mine.items] == ["T000000000005", "T000000000004", "T000000000003", "T000000000001"]
    assert [s.id for s in similar] == ["T000000000005", "T000000000004", "T000000000003", "T000000000001"]
    assert similar[0].created_at == AT + timedelta(minutes=5) and similar[0].distance_m == 0.0
    with tickets.reading() as connection:  # the next page (through SQLAlchemy) continues it
        rest = list_tickets(connection, reporter="resident:a", page=PageQuery(limit=2, cursor=first.next_cursor))
    assert [t.id for t in rest.items] == ["T000000000003", "T000000000002"]
