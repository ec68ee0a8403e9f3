"""``new_row``: a row built without the table model's constructor is stored, read and changed like one built with it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.tickets.adapters.orm import Ticket, TicketHistory, metadata
from shared.db.rows import loaded, new_row
from shared.db.store import Store

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
REPORT = dict(
    category="manhole",
    title="井盖松动",
    description="3号楼前井盖翘起",
    community="北翟营",
    building="3",
    reporter="resident:a",
    contact={"via": "app"},
    created_at=NOW,
    updated_at=NOW,
)


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store("rows", f"sqlite:///{tmp_path / 'rows.db'}", metadata)
    store.create_all()
    return store


def test_a_new_row_equals_the_constructed_one():
    built, constructed = new_row(Ticket, id="T1", **REPORT), Ticket(id="T1", **REPORT)
    assert built.model_dump() == constructed.model_dump()
    assert built.status == "submitted" and built.attributes == {}  # defaults, a fresh dict from the factory
    assert built.attributes is not new_row(Ticket, id="T2", **REPORT).attributes
    assert built.model_fields_set == constructed.model_fields_set
    with pytest.raises(TypeError, match="colour"):
        new_row(Ticket, id="T3", colour="red", **REPORT)


def test_a_new_row_is_inserted_then_its_changes_are_updates(store):
    with store.transaction() as session:
        ticket = new_row(Ticket, id="T1", **REPORT)
        session.add(ticket)
        session.add(new_row(TicketHistory, ticket_id="T1", at=NOW, action="open", to_status="submitted"))
        session.flush()
        ticket.status = "acknowledged"
        ticket.attributes = {"depth_cm": 5}
    with store.transaction() as session:
        stored = session.get(Ticket, "T1")
        assert stored is not None
        assert (stored.status, stored.attributes, stored.title) == ("acknowledged", {"depth_cm": 5}, "井盖松动")
        history = session.execute(select(TicketHistory.id, TicketHistory.action)).all()
        assert [tuple(h) for h in history] == [(1, "open")]  # the generated key came back


def test_loaded_reads_a_rows_fields_from_its_state_or_loads_what_expired(store):
    """A view reads a row's fields through :func:`loaded`: the values it holds, and an expired field is
    loaded from the store as an attribute read would load it."""
    row = new_row(Ticket, id="T1", **REPORT)
    assert loaded(row)["title"] == "井盖松动" and loaded(row)["status"] == "submitted"
    with store.transaction() as session:
        session.add(row)
    with store.transaction() as session:
        session.execute(Ticket.__table__.update().values(title="路灯不亮"))  # type: ignore[attr-defined]
    with store.transaction() as session:
        session.add(row)
        assert loaded(row)["title"] == "井盖松动"  # not expired: what the row holds
        session.expire(row, ["title"])
        assert loaded(row)["title"] == "路灯不亮"  # expired: loaded again
        fields = loaded(row)
        assert {name: fields[name] for name in Ticket.model_fields} == {n: getattr(row, n) for n in Ticket.model_fields}
