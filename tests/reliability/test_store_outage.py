"""A consumer's store unreachable for 60 s while events flow: an outage, not failing events.

The probe consumer's store is a private PostgreSQL cluster, stopped by the test for 60 s while
events keep arriving, with retries fast enough (50 ms base, 5 deliveries) that without the pause
every event read during the outage would be dead-lettered in about a second.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import redis.asyncio as aredis

from shared.messaging.streams import StreamNames
from tests.conftest import eventually
from tests.reliability.streams import pending, pending_deliveries, tally, ticket, xadd
from tests.support import probe

OUTAGE_S = 60
BEFORE, DURING, AFTER = 50, 300, 50  # events written before, during (5 a second) and after the outage


async def test_a_store_unreachable_for_60_s_dead_letters_nothing_and_applies_every_event_once(
    start_runtime, settings, private_postgres, monkeypatch, record
):
    names = StreamNames(settings.stream_prefix)
    stream = names.events("tickets")
    monkeypatch.setenv("PROBE_DATABASE_URL", private_postgres.create_database(f"probe_{uuid.uuid4().hex[:8]}"))
    r = aredis.Redis.from_url(settings.redis_url)
    sent: list[str] = []

    async def write(first: int, count: int, per_second: float | None = None) -> None:
        for n in range(first, first + count):
            event = ticket(n)
            await xadd(r, names, event)
            sent.append(event.id)
            if per_second:
                await asyncio.sleep(1 / per_second)

    try:
        async with start_runtime([probe.module]) as (runtime, _client):
            consumer = runtime.consumers["probe"]
            await write(0, BEFORE)
            await eventually(lambda: probe.effect_count(runtime) == BEFORE, timeout=30)

            private_postgres.stop()
            stopped = time.monotonic()
            writer = asyncio.create_task(write(BEFORE, DURING, per_second=DURING / (OUTAGE_S - 5)))
            most_deliveries = 0
            while time.monotonic() - stopped < OUTAGE_S:
                counts = await pending_deliveries(r, stream, "probe")
                most_deliveries = max([most_deliveries, *counts])
                await asyncio.sleep(1)
            await writer
            dead_during = await r.xlen(names.dead_letter)
            pending_at_restart = await pending(r, stream, "probe")
            private_postgres.start()
            restarted = time.monotonic()

            await write(BEFORE + DURING, AFTER)
            total = BEFORE + DURING + AFTER
            await eventually(lambda: probe.effect_count(runtime) >= total, timeout=90)
            recovery_s = time.monotonic() - restarted
            await eventually(lambda: _none_pending(r, stream), timeout=30)
            applied = [event_id for event_id, _ in probe.effects(runtime)]
            figures = record(
                {
                    **tally(applied, sent),
                    "outage_s": OUTAGE_S,
                    "pending_when_the_store_returned": pending_at_restart,
                    "most_deliveries_of_a_pending_entry_during_the_outage": most_deliveries,
                    "dead_letters": await r.xlen(names.dead_letter),
                    "pauses": consumer.outages,
                    "recovery_s": round(recovery_s, 1),
                }
            )
    finally:
        await r.aclose()
    assert dead_during == 0 and figures["dead_letters"] == 0
    assert most_deliveries <= 1  # held entries were read once; the outage counted no delivery
    assert pending_at_restart > 0  # events read during the outage were held, not acknowledged
    assert figures["losses"] == 0 and figures["duplicates"] == 0
    assert sorted(applied) == sorted(sent)
    assert consumer.outages >= 1


async def _none_pending(r, stream) -> bool:
    return await pending(r, stream, "probe") == 0


async def test_an_operational_error_of_a_store_that_answers_is_a_failing_event_not_an_outage(
    start_runtime, settings, monkeypatch
):
    """SQLite's "no such table" is an OperationalError too: with the store answering its ping, the
    event is retried and dead-lettered as any failing event, and consuming never pauses."""
    from sqlalchemy import text

    from shared.events.tickets import TicketOpened

    def broken(ctx, event, data, session) -> None:
        session.execute(text("SELECT * FROM no_such_table"))

    monkeypatch.setitem(probe.consumer.handlers, TicketOpened.event_type, broken)
    names = StreamNames(settings.stream_prefix)
    r = aredis.Redis.from_url(settings.redis_url)
    try:
        async with start_runtime([probe.module]) as (runtime, _client):
            await xadd(r, names, ticket(1))
            dead = await eventually(lambda: r.xrange(names.dead_letter), timeout=30)
            assert runtime.consumers["probe"].outages == 0
    finally:
        await r.aclose()
    assert [fields[b"reason"] for _, fields in dead] == [b"handler_failed"]
    assert b"no such table" in dead[0][1][b"error"]
