"""9) scale: 1, 2 and 4 notify processes of one consumer group, and 1 vs 2 relay replicas sharing one outbox,
all on PostgreSQL (``python -m bench --only scale``).

Consumers: the same method as figure 6 (``bench/consumer.py``): a backlog of TicketOpened (1% repeats) is
handed at once to N real notify processes (``python -m bench.worker notify``) of the group ``notify``;
the clock runs until the group has read and acknowledged everything; afterwards the store must hold one
notification and one inbox row per distinct event (nothing lost or doubled). Each run gets a fresh
database.

Relay: a tickets outbox on PostgreSQL is filled with committed rows; then 1 or 2 processes
(``python -m bench.scale relay``), each running the service's own :class:`OutboxRelay` loop on that
outbox, are told to go at once. They claim batches with ``FOR UPDATE SKIP LOCKED``, so they share rows
without publishing one twice; the clock runs until the stream holds every row and no row is pending.
The check: stream length = rows = distinct event ids on the stream, and each replica's share.

On this 2-core machine the processes share the cores with PostgreSQL, Redis and one another, and
other work may be running: the figures say how the design scales here, not what more cores give.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from bench.common import (
    PYTHON,
    REDIS_URL,
    ROOT,
    Figure,
    cpu_seconds,
    drop_keys,
    log,
    machine_busy_seconds,
    new_prefix,
    pg_database,
    temp_dir,
)
from bench.consumer import make_entries, notify_rate

BATCH = 500


def consumers(quick: bool, tmp: Path) -> list[Figure]:
    """Events/s of 1, 2 and 4 notify processes of one group, each against 1 process."""
    n = 6000 if quick else 30000
    rates: dict[int, tuple[float, dict]] = {}
    for seed, workers in enumerate((1, 2, 4)):
        entries, distinct = make_entries(n, seed=10 + seed)
        with pg_database(f"scale{workers}") as url:
            log(f"scale: {workers} notify process(es), one group, PostgreSQL, {n} events")
            rates[workers] = notify_rate(url, entries, distinct, workers, tmp)
        log(f"scale: {workers} -> {rates[workers][0]:.0f} events/s")
    one = rates[1][0]
    figures = [
        Figure(
            "9 scale",
            "1 notify process (PostgreSQL)",
            one,
            "events/s",
            extra={**rates[1][1], "workers": 1},
        )
    ]
    for workers in (2, 4):
        rate, check = rates[workers]
        figures.append(
            Figure(
                "9 scale",
                f"{workers} notify processes, one group (PostgreSQL)",
                rate,
                "events/s",
                one,
                "1 notify process",
                passed=None if check["exactly_once"] else False,
                extra={**check, "workers": workers},
            )
        )
    return figures


# -- relay replicas --------------------------------------------------------------------------------
def fill(url: str, n: int) -> None:
    """A migrated tickets store whose outbox holds ``n`` committed, unsent rows."""
    from bench.relay import fill_outbox
    from services.tickets.module import module
    from shared.db.engine import make_engine
    from shared.db.migrations import upgrade

    engine = make_engine(url)
    upgrade("tickets", module.migrations, engine)
    entries, _ = make_entries(n, dup_every=0)
    fill_outbox(engine, module.outbox, entries)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE outbox")
    engine.dispose()


def run_relay_worker() -> None:
    """``python -m bench.scale relay``: one relay replica; ``ready``, waits for ``go`` on stdin, relays
    until SIGTERM, then prints how many rows it published."""
    from bench.relay import open_connections
    from services.tickets.module import module
    from shared.db.store import Store
    from shared.messaging.relay import OutboxRelay
    from shared.messaging.streams import StreamNames

    store = Store("tickets", os.environ["TICKETS_DATABASE_URL"], module.metadata)  # as the service opens it
    open_connections(store.engine, 2)
    relay = OutboxRelay(store.engine, module.outbox, REDIS_URL, StreamNames(os.environ["LINLI_STREAM_PREFIX"]))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
        running = asyncio.create_task(relay.run())
        await stop.wait()
        relay.stopping = True
        relay.wake()
        await running

    try:
        asyncio.run(main())
    finally:
        relay.close()
        store.dispose()
    print(json.dumps({"published": relay.published}), flush=True)


def relay_replicas(replicas: int, n: int, tmp: Path, timeout: float = 300.0) -> tuple[float, dict]:
    """Rows/s of ``replicas`` relay processes draining one outbox of ``n`` rows; checks each row went once."""
    prefix = new_prefix()
    key = f"{prefix}:tickets"
    with pg_database(f"relay{replicas}") as url:
        fill(url, n)
        env = {**os.environ, "TICKETS_DATABASE_URL": url, "LINLI_STREAM_PREFIX": prefix, "REDIS_URL": REDIS_URL}
        procs = []
        for i in range(replicas):
            err = (tmp / f"relay-{replicas}-{i}.log").open("wb")
            procs.append(
                subprocess.Popen(
                    [PYTHON, "-m", "bench.scale", "relay"],
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=err,
                )
            )
        client = redis.Redis.from_url(REDIS_URL)
        try:
            for i, proc in enumerate(procs):
                if b"ready" not in proc.stdout.readline():
                    raise RuntimeError(f"relay replica {i} failed: {(tmp / f'relay-{replicas}-{i}.log').read_text()}")
            cpu_before = sum(cpu_seconds(p.pid) for p in procs)
            busy_before = machine_busy_seconds()
            started = time.perf_counter()
            for proc in procs:
                proc.stdin.write(b"go\n")
                proc.stdin.flush()
            while client.xlen(key) < n:
                if time.perf_counter() - started > timeout:
                    raise RuntimeError(f"relay x{replicas}: not published within {timeout}s")
                if any(p.poll() is not None for p in procs):
                    raise RuntimeError(f"relay replica died; see {tmp}")
                time.sleep(0.005)
            seconds = time.perf_counter() - started
            cores = {
                "relay_cores": round((sum(cpu_seconds(p.pid) for p in procs) - cpu_before) / seconds, 2),
                "machine_busy_cores": round((machine_busy_seconds() - busy_before) / seconds, 2),
            }
            shares = []
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
                out, _ = proc.communicate(timeout=30)
                shares.append(json.loads(out.strip().splitlines()[-1])["published"])
            ids = set()
            for _, fields in client.xrange(key):
                ids.add(json.loads(fields[b"cloudevent"])["id"])
            import psycopg

            with psycopg.connect(url) as conn:
                pending = conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
            length = client.xlen(key)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            client.close()
            drop_keys(prefix)
    check = {
        "rows": n,
        "stream_length": length,
        "distinct_event_ids": len(ids),
        "pending_after": pending,
        "published_by_replica": shares,
        "exactly_once": length == n == len(ids) == sum(shares) and pending == 0,
        "seconds": round(seconds, 3),
        **cores,
    }
    if not check["exactly_once"]:
        log(f"RELAY LOST OR DOUBLED: {check}")
    return n / seconds, check


def relays(quick: bool, tmp: Path) -> list[Figure]:
    n = 20000 if quick else 100000
    log(f"scale: 1 relay process on one PostgreSQL outbox, {n} rows")
    one, first = relay_replicas(1, n, tmp)
    log(f"scale: 1 relay -> {one:.0f} rows/s; 2 replicas sharing the outbox")
    two, check = relay_replicas(2, n, tmp)
    log(f"scale: 2 relays -> {two:.0f} rows/s")
    return [
        Figure(
            "9 scale",
            "relay, 1 process (PostgreSQL outbox)",
            one,
            "events/s",
            passed=None if first["exactly_once"] else False,
            extra=first,
        ),
        Figure(
            "9 scale",
            "relay, 2 replicas sharing one PostgreSQL outbox",
            two,
            "events/s",
            one,
            "1 relay process",
            passed=None if check["exactly_once"] else False,
            extra=check,
        ),
    ]


def measure(quick: bool) -> list[Figure]:
    """Figure 9: consumer processes 1/2/4 and relay replicas 1/2 (no goal: a measurement, checked exact)."""
    with temp_dir("scale") as tmp:
        return consumers(quick, tmp) + relays(quick, tmp)


if __name__ == "__main__":
    if sys.argv[1:] == ["relay"]:
        run_relay_worker()
    else:
        for figure in measure("--quick" in sys.argv):
            print(figure.as_dict())
