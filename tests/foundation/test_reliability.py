"""Nothing lost, nothing doubled: duplicates, retries, dead letters, reclaiming, bad input."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC

import pytest
import redis.asyncio as aredis
from sqlalchemy import MetaData, insert, select
from sqlmodel import Field, SQLModel

from shared.clock import as_utc, utcnow
from shared.events import new_event
from shared.events.tickets import TicketOpened
from shared.messaging.consumer import EventConsumer
from shared.messaging.inbox import Inbox, insert_many
from shared.messaging.outbox import Outbox
from shared.messaging.streams import StreamNames, encode_entry
from shared.service import ServiceModule
from tests.conftest import eventually
from tests.support import probe


@pytest.fixture
def names(settings) -> StreamNames:
    """The stream names of the test's prefix."""
    return StreamNames(settings.stream_prefix)


@pytest.fixture
async def r(settings):
    """A Redis client on the test's server, closed after the test."""
    client = aredis.Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


def ticket_event(title: str = "路灯不亮", ticket_id: str = "T1"):
    return new_event(TicketOpened(ticket_id=ticket_id, category="street_light", title=title), subject=ticket_id)


async def xadd_event(r: aredis.Redis, names: StreamNames, event) -> bytes:
    return await r.xadd(names.events("tickets"), encode_entry(event.to_json(), event.type))


async def pending(r, stream, group="probe") -> int:
    return (await r.xpending(stream, group))["pending"]


async def none_pending(r, stream, group="probe") -> bool:
    return await pending(r, stream, group) == 0


async def test_duplicate_event_has_one_effect(start_runtime, r, names):
    async with start_runtime([probe.module]) as (runtime, _client):
        event = ticket_event()
        await xadd_event(r, names, event)
        await xadd_event(r, names, event)  # the same event delivered twice
        await xadd_event(r, names, ticket_event("第二件", "T2"))
        await eventually(lambda: probe.effect_count(runtime) == 2)
        await eventually(lambda: none_pending(r, names.events("tickets")))
        assert [title for _, title in probe.effects(runtime)] == ["路灯不亮", "第二件"]


async def test_failing_handler_is_retried_then_dead_lettered_while_later_events_flow(start_runtime, settings, r, names):
    async with start_runtime([probe.module]) as (runtime, _client):
        bad = ticket_event("boom 井盖", "T-BAD")
        await xadd_event(r, names, bad)
        good = ticket_event("楼道灯坏了", "T-OK")
        await xadd_event(r, names, good)
        await eventually(lambda: probe.effect_count(runtime) == 1)
        dead = await eventually(lambda: r.xrange(names.dead_letter), timeout=15)
        assert len(dead) == 1
        fields = dead[0][1]
        assert fields[b"reason"] == b"handler_failed"
        assert b"probe refuses" in fields[b"error"]
        assert fields[b"group"] == b"probe"
        assert int(fields[b"deliveries"]) == settings.max_deliveries == 5
        assert json.loads(fields[b"cloudevent"])["id"] == bad.id
        assert probe.attempts[bad.id] == 5
        assert await pending(r, names.events("tickets")) == 0
        assert [e for e, _ in probe.effects(runtime)] == [good.id]


async def test_an_event_that_fails_once_is_applied_on_retry_and_its_failure_is_forgotten(start_runtime, r, names):
    async with start_runtime([probe.module]) as (runtime, _client):
        flaky = ticket_event("flaky 井盖", "T-FLAKY")
        await xadd_event(r, names, flaky)
        await xadd_event(r, names, ticket_event("楼道灯坏了", "T-OK"))
        await eventually(lambda: probe.effect_count(runtime) == 2, timeout=15)
        await eventually(lambda: none_pending(r, names.events("tickets")))
        assert probe.attempts[flaky.id] == 2
        assert await r.hlen(names.errors("probe")) == 0  # the first attempt's error is not kept
        assert await r.xlen(names.dead_letter) == 0


async def test_bad_input_is_dead_lettered_with_a_reason_and_consuming_goes_on(start_runtime, r, names):
    stream = names.events("tickets")
    valid = ticket_event("有效事件", "T-VALID")
    wrong_data = json.loads(valid.to_json())
    wrong_data["id"] = "x-1"
    wrong_data["data"] = {"ticket_id": "T9"}  # category and title missing
    unknown = dict(wrong_data, id="x-2", type="cn.linli.tickets.Nonsense.v1")
    async with start_runtime([probe.module], max_event_bytes=4096) as (runtime, _client):
        await r.xadd(stream, {"cloudevent": b"\xff\xfe not json"})
        await r.xadd(stream, {"cloudevent": json.dumps({"hello": "world"})})
        await r.xadd(stream, {"cloudevent": json.dumps(unknown)})
        await r.xadd(stream, {"cloudevent": json.dumps(wrong_data)})
        await r.xadd(stream, {"cloudevent": json.dumps(dict(wrong_data, id="x-3", padding="x" * 5000))})
        await r.xadd(stream, {"payload": "no cloudevent field"})
        await xadd_event(r, names, valid)
        await eventually(lambda: probe.effect_count(runtime) == 1)
        dead = await eventually(lambda: _len_at_least(r, names.dead_letter, 6))
        reasons = [fields[b"reason"].decode() for _, fields in dead]
        assert reasons == ["not_json", "not_cloudevent", "unknown_type", "invalid_data", "oversized", "no_cloudevent"]
        assert all(fields[b"stream"] == stream.encode() for _, fields in dead)
        assert b"title" in dead[3][1][b"error"]
        assert await pending(r, stream) == 0


async def _len_at_least(r, key, n):
    entries = await r.xrange(key)
    return entries if len(entries) >= n else None


async def test_entries_left_pending_by_a_dead_consumer_are_reclaimed(start_runtime, r, names):
    stream = names.events("tickets")
    await r.xgroup_create(stream, "probe", id="0", mkstream=True)
    events = [ticket_event(f"事件{i}", f"T{i}") for i in range(3)]
    for event in events:
        await xadd_event(r, names, event)
    # A consumer reads the entries and dies before acknowledging them.
    taken = await r.xreadgroup("probe", "crashed-replica", {stream: ">"}, count=10)
    assert len(taken[0][1]) == 3
    async with start_runtime([probe.module], claim_idle_ms=300) as (runtime, _client):
        await eventually(lambda: probe.effect_count(runtime) == 3)
        assert sorted(e for e, _ in probe.effects(runtime)) == sorted(e.id for e in events)
        await eventually(lambda: none_pending(r, stream))


async def test_a_failing_event_in_the_middle_of_a_batch_fails_alone(start_runtime, settings, r, names):
    """Entries read in one batch: the others are applied exactly once, the failing one retried alone."""
    before, bad, after = ticket_event("前", "T-A"), ticket_event("boom 中", "T-B"), ticket_event("后", "T-C")
    for event in (before, bad, after):  # written before the consumer starts: one XREADGROUP batch
        await xadd_event(r, names, event)
    async with start_runtime([probe.module]) as (runtime, _client):
        await eventually(lambda: r.xrange(names.dead_letter), timeout=15)
        assert sorted(e for e, _ in probe.effects(runtime)) == sorted([before.id, after.id])
        assert probe.attempts[bad.id] == settings.max_deliveries
        assert await pending(r, names.events("tickets")) == 0


# A probe with a batch handler: it gets a batch's TicketOpened events at once and writes their effects
# with one multi-row INSERT (COPY on PostgreSQL); titles with "boom" make it raise, a title "race" makes
# a simulated replica commit that event's inbox row and effect first (from another connection).
batch_metadata = MetaData()


class BatchProbeTable(SQLModel):
    metadata = batch_metadata


class BatchEffect(BatchProbeTable, table=True):
    __tablename__ = "batch_effect"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=128)
    title: str


batch_consumer = EventConsumer(group="batchprobe", streams=["tickets"])
batch_runs: list[list[str]] = []
batch_attempts: Counter[str] = Counter()


@batch_consumer.handles_batch(TicketOpened)
def on_tickets(ctx, events, session) -> None:
    batch_runs.append([data.title for _, data in events])
    batch_attempts.update(event.id for event, _ in events)
    for event, data in events:
        if "boom" in data.title:
            raise RuntimeError(f"batch probe refuses {data.title!r}")
        if data.title == "race" and not ctx.state.get("raced"):
            ctx.state["raced"] = True
            with ctx.store.engine.begin() as replica:  # another replica applies it first and commits
                replica.execute(
                    insert(ctx.module.inbox.table).values(
                        consumer_group="batchprobe",
                        event_id=event.id,
                        source=event.source,
                        event_type=event.type,
                        handled_at=utcnow(),
                    )
                )
                replica.execute(insert(BatchEffect.__table__).values(event_id=event.id, title="by the replica"))
    insert_many(session, BatchEffect.__table__, [{"event_id": event.id, "title": data.title} for event, data in events])


batch_module = ServiceModule(
    name="batchprobe",
    title="batch probe",
    metadata=batch_metadata,
    outbox=Outbox(batch_metadata, default_stream="batchprobe"),
    inbox=Inbox(batch_metadata),
    migrations=None,
    consumer=batch_consumer,
)


def batch_effects(runtime) -> list[tuple[str, str]]:
    with runtime.contexts["batchprobe"].store.transaction() as session:
        rows = session.execute(select(BatchEffect.event_id, BatchEffect.title).order_by(BatchEffect.id)).all()
    return [tuple(row) for row in rows]


@pytest.fixture(params=["sqlite", "postgresql"])
def batch_store(request, pg_database, monkeypatch) -> str:
    """The batch probe's store on SQLite (the settings' var dir) or on a fresh PostgreSQL database."""
    batch_runs.clear()
    batch_attempts.clear()
    if request.param == "postgresql":
        monkeypatch.setenv("BATCHPROBE_DATABASE_URL", pg_database("batchprobe"))
    return request.param


async def test_a_batch_handler_gets_the_batch_and_a_failing_event_in_it_fails_alone(
    start_runtime, r, names, batch_store
):
    before, bad, after = ticket_event("前", "T-A"), ticket_event("boom 中", "T-B"), ticket_event("后", "T-C")
    for event in (before, bad, before, after):  # one XREADGROUP batch, with a duplicate
        await xadd_event(r, names, event)
    async with start_runtime([batch_module]) as (runtime, _client):
        dead = await eventually(lambda: r.xrange(names.dead_letter), timeout=15)
        assert batch_runs[0] == ["前", "boom 中", "后"]  # the whole batch at once, the duplicate left out
        assert sorted(batch_effects(runtime)) == sorted([(before.id, "前"), (after.id, "后")])
        assert [json.loads(fields[b"cloudevent"])["id"] for _, fields in dead] == [bad.id]
        assert dead[0][1][b"reason"] == b"handler_failed" and b"batch probe refuses" in dead[0][1][b"error"]
        assert await pending(r, names.events("tickets"), "batchprobe") == 0


async def test_a_batch_handler_keeps_its_runs_in_stream_order_and_batches_again_after_a_failure(
    start_runtime, r, names, batch_store
):
    events = [ticket_event(title, f"T{i}") for i, title in enumerate(["一", "boom 二", "三", "四"])]
    for event in events:
        await xadd_event(r, names, event)
    async with start_runtime([batch_module]) as (runtime, _client):
        await eventually(lambda: len(batch_effects(runtime)) == 3)
        # the batch, then one by one until the failing event is found, then the rest as a batch again
        assert batch_runs[:4] == [["一", "boom 二", "三", "四"], ["一"], ["boom 二"], ["一", "三", "四"]]
        assert [title for _, title in batch_effects(runtime)] == ["一", "三", "四"]
        assert batch_attempts[events[0].id] == 3 and batch_attempts[events[2].id] == 2


async def test_rows_a_racing_replica_committed_first_make_its_event_a_duplicate(
    start_runtime, r, names, pg_database, monkeypatch, caplog
):
    """On PostgreSQL two replicas can apply the same reclaimed event at once: the second one's INSERT
    fails on the key, and the event counts as handled (by the other), not as failed."""
    batch_runs.clear()
    monkeypatch.setenv("BATCHPROBE_DATABASE_URL", pg_database("batchprobe"))
    first, racing, last = ticket_event("甲", "T-1"), ticket_event("race", "T-2"), ticket_event("乙", "T-3")
    for event in (first, racing, last):
        await xadd_event(r, names, event)
    async with start_runtime([batch_module]) as (runtime, _client):
        await eventually(lambda: none_pending(r, names.events("tickets"), "batchprobe"))
        assert sorted(batch_effects(runtime)) == sorted(
            [(first.id, "甲"), (racing.id, "by the replica"), (last.id, "乙")]
        )
        assert await r.xlen(names.dead_letter) == 0
        assert not [rec for rec in caplog.records if rec.name == "linli.consumer"]  # never failed, never retried


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_insert_many_writes_rows_and_reports_a_duplicate_key_as_an_integrity_error(backend, tmp_path, pg_database):
    from datetime import datetime

    from sqlalchemy.exc import IntegrityError

    from shared.db.store import Store

    url = f"sqlite:///{tmp_path / 'batch.db'}" if backend == "sqlite" else pg_database("insert_many")
    store = Store("batchprobe", url, batch_metadata)
    store.create_all()
    at = datetime(2026, 11, 28, 2, 0, 0, 123456, tzinfo=UTC)
    rows = [{"consumer_group": "g", "event_id": f"e-{i}", "event_type": "t", "handled_at": at} for i in range(3)]
    with store.transaction() as session:
        insert_many(session, batch_module.inbox.table, rows)
    with pytest.raises(IntegrityError):
        with store.transaction() as session:
            insert_many(session, batch_module.inbox.table, [dict(rows[1], event_type="again")])
    with store.transaction(readonly=True) as session:
        stored = session.execute(select(batch_module.inbox.table).order_by(batch_module.inbox.table.c.event_id)).all()
    assert [(r.event_id, r.event_type) for r in stored] == [("e-0", "t"), ("e-1", "t"), ("e-2", "t")]
    assert {as_utc(r.handled_at) for r in stored} == {at}
    store.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_inbox_tells_which_events_of_a_batch_its_group_handled_before(backend, tmp_path, pg_database):
    from shared.db.store import Store

    SRC = "/linli/tickets"
    url = f"sqlite:///{tmp_path / 'seen.db'}" if backend == "sqlite" else pg_database("seen_among")
    store = Store("batchprobe", url, batch_metadata)
    store.create_all()
    inbox = batch_module.inbox
    with store.transaction() as session:
        inbox.record_many(session, "notify", [(SRC, f"e-{i}", "t") for i in range(0, 1200, 3)])
        inbox.record_many(session, "library", [(SRC, "e-1", "t")])
    asked = [(SRC, f"e-{i}") for i in range(1200)] + [(SRC, "never-seen")]
    with store.transaction(readonly=True) as session:
        seen = inbox.seen_among(session, "notify", asked)
        other_group = inbox.seen_among(session, "library", [(SRC, "e-0"), (SRC, "e-1")])
    assert seen == {(SRC, f"e-{i}") for i in range(0, 1200, 3)}  # across chunks, no other group's rows
    assert other_group == {(SRC, "e-1")}
    store.dispose()
