"""2) outbox relay: committed outbox rows -> stream, vs redis-py pipelined XADD of the same payloads.

The relay is the real :class:`shared.messaging.relay.OutboxRelay` of a migrated tickets store,
opened as the service opens it (:class:`shared.db.store.Store`: on SQLite, WAL checkpoints in a
background thread), running its ``run()`` loop as a service does (batches of 500, ``MAXLEN ~``, marking rows sent; on
PostgreSQL it claims the next batch while the current one is written to Redis). The clock starts
when the loop starts and stops when the relay has committed the last row as sent. On PostgreSQL the
relay uses two pooled connections; both are opened before the clock starts, as a running service
has them (opening one takes a few ms, a one-time cost that is not the relay's throughput). The
baseline writes the same entries with a redis-py pipeline in batches of 500 with the same cap, one
batch after the other. The relay hands Redis the payload as the stored UTF-8 bytes; the baseline
passes ``str`` values that redis-py encodes (about 1 µs per entry).
"""

from __future__ import annotations

import asyncio
import time

import redis
from sqlalchemy import insert, text

from bench.common import REDIS_URL, Figure, drop_keys, log, new_prefix, pg_database, ratio_goal, temp_dir
from bench.consumer import make_entries

BATCH = 500


def fill_outbox(engine, outbox, entries: list[dict[str, str]]) -> None:
    """Commit one outbox row per entry (as ``ctx.emit`` would have)."""
    import json

    from shared.clock import utcnow

    now = utcnow()
    rows = []
    for i, fields in enumerate(entries):
        rows.append(
            {
                "event_id": f"{json.loads(fields['cloudevent'])['id']}-{i}",
                "stream": "tickets",
                "event_type": fields["type"],
                "payload": fields["cloudevent"],
                "created_at": now,
            }
        )
    with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(insert(outbox.table), rows[i : i + 5000])


async def drain(relay, total: int) -> float:
    """Seconds the relay's ``run()`` loop takes to publish ``total`` pending rows."""
    loop = asyncio.get_running_loop()
    all_sent = asyncio.Event()
    publish = relay.publish

    def publish_and_count(claimed):
        count = publish(claimed)
        if relay.published >= total:
            loop.call_soon_threadsafe(all_sent.set)
        return count

    sqlite_step = relay._sqlite_step

    async def sqlite_step_and_count():
        count = await sqlite_step()
        if relay.published >= total:
            all_sent.set()
        return count

    # tell the bench the moment the last batch is committed: on PostgreSQL ``publish`` commits a batch on
    # the relay's thread, on SQLite ``_sqlite_step`` marks it on the event loop (it calls no ``publish``)
    relay.publish = publish_and_count
    relay._sqlite_step = sqlite_step_and_count
    started = time.perf_counter()
    running = asyncio.create_task(relay.run())
    waiting = asyncio.create_task(all_sent.wait())
    await asyncio.wait([running, waiting], return_when=asyncio.FIRST_COMPLETED)
    seconds = time.perf_counter() - started
    waiting.cancel()
    relay.stopping = True
    relay.wake()
    await running
    return seconds


def open_connections(engine, count: int) -> None:
    """Leave ``count`` connections open in the pool, as a running service's relay finds them."""
    connections = [engine.connect() for _ in range(count)]
    for conn in connections:
        conn.execute(text("SELECT count(*) FROM outbox"))
        conn.rollback()
        conn.close()


def relay_rate(url: str, entries: list[dict[str, str]]) -> float:
    from services.tickets.module import module
    from shared.db.migrations import upgrade
    from shared.db.store import Store
    from shared.messaging.relay import OutboxRelay
    from shared.messaging.streams import StreamNames

    store = Store("tickets", url, module.metadata)  # as the service opens it
    engine = store.engine
    upgrade("tickets", module.migrations, engine)
    fill_outbox(engine, module.outbox, entries)
    if engine.dialect.name == "postgresql":
        open_connections(engine, 2)
    prefix = new_prefix()
    relay = OutboxRelay(engine, module.outbox, REDIS_URL, StreamNames(prefix), batch=BATCH)
    try:
        seconds = asyncio.run(drain(relay, len(entries)))
        assert relay.published == len(entries), (relay.published, len(entries))
        assert redis.Redis.from_url(REDIS_URL).xlen(f"{prefix}:tickets") == len(entries)
        return len(entries) / seconds
    finally:
        relay.close()
        store.dispose()
        drop_keys(prefix)


def pipelined_rate(entries: list[dict[str, str]]) -> float:
    prefix = new_prefix()
    key = f"{prefix}:tickets"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        started = time.perf_counter()
        for i in range(0, len(entries), BATCH):
            pipe = client.pipeline(transaction=False)
            for fields in entries[i : i + BATCH]:
                pipe.xadd(key, fields, maxlen=1_000_000, approximate=True)
            pipe.execute()
        return len(entries) / (time.perf_counter() - started)
    finally:
        client.close()
        drop_keys(prefix)


def measure(quick: bool) -> list[Figure]:
    n = 10000 if quick else 50000
    entries, _ = make_entries(n, dup_every=0)
    figures = []
    log(f"relay: redis-py pipelined XADD baseline, {n} events")
    base = pipelined_rate(entries)
    with temp_dir("relay") as tmp:
        log(f"relay: baseline {base:.0f}/s; relay on SQLite")
        rate = relay_rate(f"sqlite:///{tmp / 'tickets.db'}", entries)
        figures.append(
            ratio_goal(
                Figure("2 outbox relay", "relay on SQLite", rate, "events/s", base, "redis-py pipelined XADD"), 0.5
            )
        )
    with pg_database("relay") as url:
        log("relay: relay on PostgreSQL")
        rate = relay_rate(url, entries)
        figures.append(
            ratio_goal(
                Figure("2 outbox relay", "relay on PostgreSQL", rate, "events/s", base, "redis-py pipelined XADD"), 0.5
            )
        )
    return figures
