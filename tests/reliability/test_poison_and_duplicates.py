"""Poison entries among good ones, redrive after a fix, and duplicates of a CloudEvent.

Extends ``tests/foundation/test_reliability.py`` (one entry of each bad kind, one duplicate) to
figures over a mixed stream: every poison entry dead-lettered exactly once with its reason, every
good event applied once, handler failures redriven after the handler is fixed and applied once
(a second redrive finds nothing), the same event three times one effect, the same id from two
sources two effects.
"""

from __future__ import annotations

import json
from collections import Counter

import redis.asyncio as aredis

from ops.dlq import redrive
from shared.events.tickets import TicketOpened
from shared.messaging.streams import ORIGIN_FIELD, StreamNames, encode_entry
from tests.conftest import eventually
from tests.reliability.streams import pending, tally, ticket, xadd
from tests.support import probe

GOOD = 300
EACH = 4  # poison entries of each kind


def poison(n: int) -> dict[str, dict[str, bytes | str]]:
    """One entry of every bad kind, by the reason the consumer gives it."""
    valid = json.loads(ticket(10_000 + n).to_json())
    return {
        "not_json": {"cloudevent": b"\xff\xfe not json"},
        "not_cloudevent": {"cloudevent": json.dumps({"hello": n})},
        "unknown_type": {"cloudevent": json.dumps(dict(valid, id=f"u-{n}", type="cn.linli.tickets.Nonsense.v1"))},
        "invalid_data": {"cloudevent": json.dumps(dict(valid, id=f"i-{n}", data={"ticket_id": f"T{n}"}))},
        "oversized": {"cloudevent": json.dumps(dict(valid, id=f"o-{n}", padding="x" * 5000))},
        "no_cloudevent": {"payload": "no cloudevent field"},
    }


async def test_poison_of_every_kind_dead_lettered_once_the_rest_applied_and_a_fixed_redrive_applies_once(
    start_runtime, settings, monkeypatch, record
):
    names = StreamNames(settings.stream_prefix)
    stream = names.events("tickets")
    r = aredis.Redis.from_url(settings.redis_url)
    good = [ticket(n) for n in range(GOOD)]
    failing = [ticket(GOOD + n, title=f"boom 井盖 {n}") for n in range(EACH)]  # the handler refuses them
    expected: dict[bytes, str] = {}  # entry id -> the reason it must be dead-lettered with
    try:
        async with start_runtime([probe.module], max_event_bytes=4096) as (runtime, _client):
            for n in range(GOOD):
                await xadd(r, names, good[n])
                if n % (GOOD // EACH) == 0:
                    k = n // (GOOD // EACH)
                    for reason, fields in poison(k).items():
                        expected[await r.xadd(stream, fields)] = reason
                    expected[await xadd(r, names, failing[k])] = "handler_failed"
            await eventually(lambda: probe.effect_count(runtime) == GOOD, timeout=30)
            dead = await eventually(lambda: _at_least(r, names.dead_letter, len(expected)), timeout=30)
            await eventually(lambda: _none_pending(r, stream), timeout=30)
            by_entry = Counter(fields[b"entry_id"] for _, fields in dead)
            reasons = {fields[b"entry_id"]: fields[b"reason"].decode() for _, fields in dead}

            # the operator fixes the handler (here: it no longer refuses "boom") and redrives
            def fixed(ctx, event, data, session) -> None:
                session.add(probe.Effect(event_id=event.id, title=data.title))

            monkeypatch.setitem(probe.consumer.handlers, TicketOpened.event_type, fixed)
            to_redrive = [i.decode() for i, f in dead if f[b"reason"] == b"handler_failed"]
            redriven = await redrive(r, names, to_redrive, operator="test")
            again = await redrive(r, names, to_redrive, operator="test")  # a second operator, a moment later
            # and the same events once more on the retry stream (as a replay would put them)
            for event in failing:
                await r.xadd(names.retry("probe"), {**encode_entry(event.to_json(), event.type), ORIGIN_FIELD: stream})
            await eventually(lambda: probe.effect_count(runtime) == GOOD + EACH, timeout=30)
            await eventually(lambda: _none_pending(r, names.retry("probe")), timeout=30)
            applied = [e for e, _ in probe.effects(runtime)]
            figures = record(
                {
                    "good_events": GOOD,
                    "poison_entries": len(expected),
                    "dead_letters": len(dead),
                    "dead_lettered_more_than_once": sum(1 for c in by_entry.values() if c > 1),
                    "reasons": dict(Counter(reasons.values())),
                    "redriven": len(redriven),
                    "second_redrive": len(again),
                    **tally(applied, [e.id for e in [*good, *failing]]),
                    "dead_letters_left": await r.xlen(names.dead_letter),
                }
            )
    finally:
        await r.aclose()
    assert {i: reasons.get(i) for i in expected} == expected  # each with its reason
    assert figures["dead_lettered_more_than_once"] == 0 and len(dead) == len(expected)
    assert len(redriven) == EACH and again == []
    assert figures["duplicates"] == 0 and figures["losses"] == 0
    assert figures["dead_letters_left"] == len(expected) - EACH


async def test_the_same_event_three_times_is_one_effect_and_the_same_id_from_two_sources_two(
    start_runtime, settings, record
):
    names = StreamNames(settings.stream_prefix)
    stream = names.events("tickets")
    r = aredis.Redis.from_url(settings.redis_url)
    events = [ticket(n) for n in range(100)]
    twins = [ticket(1000 + n) for n in range(100)]  # each sent again by a partner with the same id
    try:
        async with start_runtime([probe.module]) as (runtime, _client):
            pipe = r.pipeline(transaction=False)
            for event in events:  # twice in a row: the same batch
                for _ in range(2):
                    pipe.xadd(stream, encode_entry(event.to_json(), event.type))
            await pipe.execute()
            await eventually(lambda: probe.effect_count(runtime) == len(events), timeout=30)
            for event in events:  # a third time, after the first two were applied
                await xadd(r, names, event)
            for twin in twins:
                await xadd(r, names, twin)
                other = twin.model_copy(update={"source": "/partners/CN-SJZ-LIB"})
                await r.xadd(stream, encode_entry(other.to_json(), other.type))
            await eventually(lambda: _none_pending(r, stream), timeout=30)
            await eventually(lambda: probe.effect_count(runtime) >= len(events) + 2 * len(twins), timeout=30)
            applied = Counter(e for e, _ in probe.effects(runtime))
            figures = record(
                {
                    "events_sent_three_times": len(events),
                    "effects_of_those": sum(applied[e.id] for e in events),
                    "ids_sent_from_two_sources": len(twins),
                    "effects_of_the_twins": sum(applied[t.id] for t in twins),
                    "entries_written": 3 * len(events) + 2 * len(twins),
                    "stream_length": await r.xlen(stream),
                }
            )
    finally:
        await r.aclose()
    assert all(applied[e.id] == 1 for e in events)
    assert all(applied[t.id] == 2 for t in twins)
    assert figures["stream_length"] == figures["entries_written"]


async def _at_least(r, key: str, n: int):
    entries = await r.xrange(key)
    return entries if len(entries) >= n else None


async def _none_pending(r, stream) -> bool:
    return await pending(r, stream, "probe") == 0
