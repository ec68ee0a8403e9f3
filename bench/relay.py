"""2) outbox relay: committed outbox rows -> stream, vs redis-py pipelined XADD of the same payloads.

The relay is the real :class:`shared.messaging.outbox.OutboxRelay` of a migrated tickets store,
called in a loop until nothing is pending (batches of 500, ``MAXLEN ~``, marking rows sent). The
baseline writes the same entries with a redis-py pipeline in batches of 500 with the same cap.
"""

from __future__ import annotations

import time

import redis
from sqlalchemy import insert

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
        rows.append({"event_id": f"{json.loads(fields['cloudevent'])['id']}-{i}", "stream": "tickets",
                     "event_type": fields["type"], "payload": fields["cloudevent"], "created_at": now})
    with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(insert(outbox.table), rows[i:i + 5000])


def relay_rate(url: str, entries: list[dict[str, str]]) -> float:
    from services.tickets.module import module
    from shared.db.engine import make_engine
    from shared.db.migrations import upgrade
    from shared.messaging.outbox import OutboxRelay
    from shared.messaging.streams import StreamNames

    engine = make_engine(url)
    upgrade("tickets", module.migrations, engine)
    fill_outbox(engine, module.outbox, entries)
    prefix = new_prefix()
    relay = OutboxRelay(engine, module.outbox, REDIS_URL, StreamNames(prefix), batch=BATCH)
    try:
        started = time.perf_counter()
        published = 0
        while count := relay.publish_pending():
            published += count
        seconds = time.perf_counter() - started
        assert published == len(entries), (published, len(entries))
        assert redis.Redis.from_url(REDIS_URL).xlen(f"{prefix}:tickets") == len(entries)
        return published / seconds
    finally:
        relay.close()
        engine.dispose()
        drop_keys(prefix)


def pipelined_rate(entries: list[dict[str, str]]) -> float:
    prefix = new_prefix()
    key = f"{prefix}:tickets"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        started = time.perf_counter()
        for i in range(0, len(entries), BATCH):
            pipe = client.pipeline(transaction=False)
            for fields in entries[i:i + BATCH]:
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
        figures.append(ratio_goal(Figure("2 outbox relay", "relay on SQLite", rate, "events/s", base,
                                         "redis-py pipelined XADD"), 0.5))
    with pg_database("relay") as url:
        log("relay: relay on PostgreSQL")
        rate = relay_rate(url, entries)
        figures.append(ratio_goal(Figure("2 outbox relay", "relay on PostgreSQL", rate, "events/s", base,
                                         "redis-py pipelined XADD"), 0.5))
    return figures
