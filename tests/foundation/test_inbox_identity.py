"""The inbox names an event as CloudEvents does, by ``source`` and ``id`` together.

Two producers may use the same id for different events (partner libraries choose their own ids): each
is applied once. The same (source, id) delivered again is a duplicate, across batches and within one.
On SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import redis.asyncio as aredis
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from host import catalog
from shared.db.migrations import upgrade
from shared.db.store import Store
from shared.events import new_event
from shared.events.tickets import TicketOpened
from shared.messaging.streams import StreamNames, encode_entry
from tests.conftest import eventually
from tests.support import probe

A, B = "/partners/CN-A", "/partners/CN-B"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(backend, tmp_path, pg_database) -> str:
    return f"sqlite:///{tmp_path / 'identity.db'}" if backend == "sqlite" else pg_database("identity")


def test_the_same_id_from_two_sources_is_two_events_and_the_same_source_and_id_one(database_url):
    store = Store("probe", database_url, probe.metadata)
    store.create_all()
    inbox = probe.inbox
    with store.transaction() as session:
        assert inbox.seen_among(session, "library", [(A, "X")]) == set()
        inbox.record_many(session, "library", [(A, "X", "t")])
    with store.transaction() as session:
        assert inbox.seen_among(session, "library", [(A, "X"), (B, "X"), (A, "Y")]) == {(A, "X")}
        inbox.record_many(session, "library", [(B, "X", "t")])  # B's own event with A's id: recorded too
    with store.transaction() as session:
        assert inbox.seen_among(session, "library", [(A, "X"), (B, "X"), (B, "Y")]) == {(A, "X"), (B, "X")}
        assert inbox.seen(session, "library", (B, "X")) and not inbox.seen(session, "library", (B, "Y"))
        assert inbox.seen_among(session, "notify", [(A, "X")]) == set()  # groups stay independent
    with pytest.raises(IntegrityError), store.transaction() as session:
        inbox.record_many(session, "library", [(A, "X", "t")])  # the same source and id: refused by the key
    with pytest.raises(IntegrityError), store.transaction() as session:
        inbox.record(session, "library", (B, "X"), "t")
    with store.transaction(readonly=True) as session:
        rows = session.execute(select(inbox.table.c.source, inbox.table.c.event_id)).all()
    assert sorted(tuple(row) for row in rows) == [(A, "X"), (B, "X")]
    store.dispose()


def test_a_row_from_before_the_upgrade_still_stops_its_event_from_any_source(database_url):
    """Migrating a store at the previous head keeps its rows (source ``''``: not known), and such a row
    still makes a redelivery of its event a duplicate; events recorded after the upgrade keep their source."""
    (module,) = catalog.load(["library"])
    store = Store(module.name, database_url, module.metadata)
    upgrade(module.name, module.migrations, store.engine, "690c7ccfa64a")  # the library's head before the change
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO inbox (consumer_group, event_id, event_type, handled_at)"
                " VALUES ('library', 'OLD', 'cn.linli.library.BookReturned.v1', :at)"
            ),
            {"at": datetime(2026, 11, 28, 3, 0, tzinfo=UTC)},
        )
    upgrade(module.name, module.migrations, store.engine)
    inbox = module.inbox
    with store.transaction() as session:
        assert session.execute(select(inbox.table.c.source, inbox.table.c.event_id)).all() == [("", "OLD")]
        assert inbox.seen_among(session, "library", [(A, "OLD"), (B, "NEW")]) == {(A, "OLD")}
        inbox.record_many(session, "library", [(A, "NEW", "t")])
    with store.transaction(readonly=True) as session:
        assert inbox.seen_among(session, "library", [(A, "NEW"), (B, "NEW")]) == {(A, "NEW")}
    store.dispose()


async def test_the_consumer_applies_the_event_of_each_source_once(
    start_runtime, settings, backend, pg_database, monkeypatch
):
    """Through Redis: A's event, B's event with the same id, and A's again, in one batch, then A's and B's
    again in a later batch: two effects (one per source), the rest duplicates, nothing dead-lettered."""
    if backend == "postgresql":
        monkeypatch.setenv("PROBE_DATABASE_URL", pg_database("identity_probe"))
    probe.attempts.clear()
    names = StreamNames(settings.stream_prefix)
    r = aredis.Redis.from_url(settings.redis_url)
    first = new_event(TicketOpened(ticket_id="T1", category="leak", title="甲的事件"), subject="T1", source=A)
    other = first.model_copy(update={"source": B, "data": {**first.data, "title": "乙的事件"}})
    stream = names.events("tickets")
    for event in (first, other, first):  # one XREADGROUP batch, with a true duplicate in it
        await r.xadd(stream, encode_entry(event.to_json(), event.type))
    async with start_runtime([probe.module]) as (runtime, _client):
        await eventually(lambda: probe.effect_count(runtime) == 2)
        for event in (first, other):  # redelivered later: both already applied
            await r.xadd(stream, encode_entry(event.to_json(), event.type))
        await eventually(lambda: _all_read_and_settled(r, stream))
        assert sorted(title for _, title in probe.effects(runtime)) == ["乙的事件", "甲的事件"]
        assert {event_id for event_id, _ in probe.effects(runtime)} == {first.id}
        assert probe.attempts[first.id] == 2  # each source's event ran its handler once
        assert await r.xlen(names.dead_letter) == 0
        with runtime.contexts["probe"].store.transaction(readonly=True) as session:
            table = probe.inbox.table
            rows = session.execute(select(table.c.source, table.c.event_id).where(table.c.consumer_group == "probe"))
            assert sorted(tuple(row) for row in rows) == [(A, first.id), (B, first.id)]
    await r.aclose()


async def _all_read_and_settled(r: aredis.Redis, stream: str) -> bool:
    """Every entry of ``stream`` was delivered to the probe group and acknowledged."""
    groups = {g["name"]: g for g in await r.xinfo_groups(stream)}
    group = groups.get(b"probe") or groups.get("probe")
    return (
        bool(group)
        and group["pending"] == 0
        and group["last-delivered-id"] == (await r.xinfo_stream(stream))["last-generated-id"]
    )
