"""notify consuming TicketOpened in process: ``python -m bench.consume_loop [BATCH]`` (default 1).

The notify runtime as ``linli run`` builds it (FastStream subscriber, consumer runtime, inbox, routing,
``XACK``), on a private stream prefix in the machine's Redis and a SQLite store in a temp folder, with
the demo's recipients (a manhole report in 北翟营 reaches the on-duty 王建国). ``EVENTS`` (default 300)
distinct TicketOpened entries, shaped as the tickets service writes them, are put on the stream before
the runtime starts, by a child process (so that valgrind, which does not follow children, does not
count the writing), and read ``BATCH`` at a time (``LINLI_BATCH_SIZE``): 1 is the 200/s tail's case, an
event per read. Prints the CPU time per event over the last two thirds of the events (the first third
warms up); :file:`bench/consume_instructions.sh` counts
instructions per event from two runs (N and 3N events) under cachegrind. What runs by the clock rather
than by the events is quieted once the runtime has started, so that the count depends on the events and
not on how long valgrind takes: the group guardian and the reclaimer stop, the relay's idle poll waits
an hour, and the subscribers of the streams that get no entries here (library, volunteers, …, whose
``XREADGROUP`` times out every second) are stopped.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path


def entries(n: int, seed: str) -> list[dict[str, str]]:
    """``n`` distinct TicketOpened stream entries, as the tickets service's outbox relay writes them."""
    from shared.events.envelope import new_event
    from shared.events.tickets import TicketOpened
    from shared.messaging.streams import encode_entry

    now = datetime.now(UTC)
    out = []
    for i in range(n):
        ticket = f"T{seed}{i:06d}"
        data = TicketOpened(
            ticket_id=ticket,
            category="manhole",
            category_name="井盖",
            category_name_en="Manhole cover",
            community="北翟营",
            title="井盖松动",
            reporter=f"resident:r{i % 50}",
            building="3",
            first_response_due=now + timedelta(hours=2),
            resolution_due=now + timedelta(hours=48),
        )
        event = new_event(data, subject=ticket)
        out.append(encode_entry(event.to_json(), event.type))
    return out


def feed(prefix: str, n: int) -> None:
    """Write ``n`` entries to ``<prefix>:tickets`` (run as a child process, see the module docstring)."""
    import redis

    from bench.common import REDIS_URL

    client = redis.Redis.from_url(REDIS_URL)
    pipe = client.pipeline(transaction=False)
    for fields in entries(n, prefix[-6:]):
        pipe.xadd(f"{prefix}:tickets", fields)  # type: ignore[arg-type]
    pipe.execute()
    client.close()


async def quiet(runtime, fed: str) -> None:  # type: ignore[no-untyped-def]
    """Stop what runs by the clock (see the module's docstring); the subscriber of ``fed`` goes on."""
    runtime.guardian.stopping = True  # it would restart the stopped subscribers
    for worker in [*runtime.reclaimers.values()]:
        worker.stopping = True
    for relay in runtime.relays.values():
        relay.idle_poll_s = 3600.0
    for subscriber in list(runtime.broker.subscribers):
        if subscriber.stream_sub.name != fed:
            await subscriber.stop()


def main() -> None:
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    total = int(os.environ.get("EVENTS", "300"))
    os.environ.setdefault("LINLI_LOG_JSON", "false")
    from bench.common import drop_keys
    from host.runtime import Runtime
    from services.notify.adapters.orm import Notification
    from services.notify.module import module
    from shared.config import Settings

    prefix, folder = f"consume{uuid.uuid4().hex[:6]}", Path(tempfile.mkdtemp())
    settings = Settings(
        stream_prefix=prefix,
        var_dir=folder,
        consumer_name="c1",
        log_json=False,
        batch_size=batch,
        reclaim_interval_ms=3_600_000,
        claim_idle_ms=3_600_000,
    )
    runtime = Runtime([module], settings=settings, run_tickers=False)
    runtime.migrate()
    ctx = runtime.contexts["notify"]
    module.demo(ctx)
    subprocess.run([sys.executable, __file__, "feed", prefix, str(total)], check=True)
    consumer = runtime.consumers["notify"]
    handle = consumer.handle_entries

    async def run() -> None:
        done = asyncio.Event()
        marks: list[tuple[int, float]] = []

        async def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            outcome = await handle(*args, **kwargs)
            if not marks and consumer.handled >= total // 3:
                marks.append((consumer.handled, time.process_time()))
            if consumer.handled >= total:
                marks.append((consumer.handled, time.process_time()))
                done.set()
            return outcome

        consumer.handle_entries = counted  # type: ignore[method-assign]
        async with runtime.running():
            await quiet(runtime, f"{prefix}:tickets")
            await asyncio.wait_for(done.wait(), timeout=3600)
        with ctx.store.engine.connect() as connection:
            stored = connection.exec_driver_sql(f"SELECT count(*) FROM {Notification.__tablename__}").scalar()
        assert stored == total, (stored, total)
        (first, at), (last, end) = marks
        print(f"batch {batch}: {(end - at) / (last - first) * 1e6:.0f} us CPU per event (events {first}-{last})")

    import uvloop

    try:
        uvloop.run(run())
    finally:
        drop_keys(prefix)


if __name__ == "__main__":
    if sys.argv[1:2] == ["feed"]:
        feed(sys.argv[2], int(sys.argv[3]))
    else:
        main()
