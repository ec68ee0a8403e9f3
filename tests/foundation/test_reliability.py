"""Nothing lost, nothing doubled: duplicates, retries, dead letters, reclaiming, bad input."""

from __future__ import annotations

import json

import redis.asyncio as aredis

from shared.events import new_event
from shared.events.tickets import TicketOpened
from shared.messaging.streams import StreamNames, encode_entry
from tests.conftest import eventually
from tests.support import probe


def ticket_event(title: str = "路灯不亮", ticket_id: str = "T1"):
    return new_event(TicketOpened(ticket_id=ticket_id, category="street_light", title=title), subject=ticket_id)


async def xadd_event(r: aredis.Redis, names: StreamNames, event) -> bytes:
    return await r.xadd(names.events("tickets"), encode_entry(event.to_json(), event.type))


async def pending(r, stream, group="probe") -> int:
    return (await r.xpending(stream, group))["pending"]


async def none_pending(r, stream, group="probe") -> bool:
    return await pending(r, stream, group) == 0


async def test_duplicate_event_has_one_effect(start_runtime, settings):
    names = StreamNames(settings.stream_prefix)
    r = aredis.Redis.from_url(settings.redis_url)
    async with start_runtime([probe.module]) as (runtime, _client):
        event = ticket_event()
        await xadd_event(r, names, event)
        await xadd_event(r, names, event)  # the same event delivered twice
        await xadd_event(r, names, ticket_event("第二件", "T2"))
        await eventually(lambda: probe.effect_count(runtime) == 2)
        await eventually(lambda: none_pending(r, names.events("tickets")))
        assert [title for _, title in probe.effects(runtime)] == ["路灯不亮", "第二件"]
    await r.aclose()


async def test_failing_handler_is_retried_then_dead_lettered_while_later_events_flow(start_runtime, settings):
    names = StreamNames(settings.stream_prefix)
    r = aredis.Redis.from_url(settings.redis_url)
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
    await r.aclose()


async def test_bad_input_is_dead_lettered_with_a_reason_and_consuming_goes_on(start_runtime, settings):
    names = StreamNames(settings.stream_prefix)
    r = aredis.Redis.from_url(settings.redis_url)
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
    await r.aclose()


async def _len_at_least(r, key, n):
    entries = await r.xrange(key)
    return entries if len(entries) >= n else None


async def test_entries_left_pending_by_a_dead_consumer_are_reclaimed(start_runtime, settings):
    names = StreamNames(settings.stream_prefix)
    stream = names.events("tickets")
    r = aredis.Redis.from_url(settings.redis_url)
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
    await r.aclose()


async def test_a_failing_event_in_the_middle_of_a_batch_fails_alone(start_runtime, settings):
    """Entries read in one batch: the others are applied exactly once, the failing one retried alone."""
    names = StreamNames(settings.stream_prefix)
    r = aredis.Redis.from_url(settings.redis_url)
    before, bad, after = ticket_event("前", "T-A"), ticket_event("boom 中", "T-B"), ticket_event("后", "T-C")
    for event in (before, bad, after):  # written before the consumer starts: one XREADGROUP batch
        await xadd_event(r, names, event)
    async with start_runtime([probe.module]) as (runtime, _client):
        await eventually(lambda: r.xrange(names.dead_letter), timeout=15)
        assert sorted(e for e, _ in probe.effects(runtime)) == sorted([before.id, after.id])
        assert probe.attempts[bad.id] == settings.max_deliveries
        assert await pending(r, names.events("tickets")) == 0
    await r.aclose()
