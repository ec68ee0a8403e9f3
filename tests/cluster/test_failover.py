"""A master of the Redis Cluster SIGKILLed while events flow: its replica takes over, and what the
asynchronous replication lost is measured, then repaired with ``republish``.

The master serving the deployment's slot (every Linli key is in it, ``{prefix}:…``) is killed while
writes go through the probe's outbox at 50 a second. The cluster promotes its replica after
``cluster-node-timeout`` (1 s here); the relay and the consumer retry until it answers. A write the
master acknowledged but had not yet sent to its replica is gone (Redis replication is asynchronous):
its outbox row is marked sent, so only ``linli events republish`` brings it back, and the consumer's
inbox makes that safe. An acknowledgement (``XACK``) lost the same way only redelivers an entry,
which the inbox absorbs.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from ops.republish import Window, republish
from shared.clock import utcnow
from shared.messaging.connection import async_client
from shared.messaging.streams import StreamNames
from tests.conftest import eventually, token
from tests.reliability.streams import tally
from tests.support import probe

RESIDENT = token("resident:zhang-xiaosen", "resident")
RATE = 50
BEFORE_S, AFTER_S = 2, 6


async def test_a_master_killed_while_events_flow_fails_over_and_the_loss_is_measured_and_repaired(
    start_runtime, settings, on_cluster, redis_cluster, record
):
    names = StreamNames.configured(settings.stream_prefix, cluster=True)
    stream = names.events("tickets")
    accepted: list[str] = []
    refused = 0
    latencies: list[float] = []  # seconds per write after the kill
    before_latencies: list[float] = []
    async with start_runtime([probe.module], **on_cluster) as (runtime, client):

        async def steady(seconds: float, phase: str) -> None:
            nonlocal refused
            for n in range(int(seconds * RATE)):
                began = time.monotonic()
                title = f"{phase}-{n}"
                r = await client.post("/api/probe/report", headers=RESIDENT, json={"title": title, "ticket_id": title})
                (latencies if phase == "after" else before_latencies).append(time.monotonic() - began)
                if r.status_code == 201:
                    accepted.append(title)
                else:
                    refused += 1
                await asyncio.sleep(max(0.0, 1 / RATE - (time.monotonic() - began)))

        await steady(BEFORE_S, "before")
        await eventually(lambda: probe.effect_count(runtime) > 0, timeout=15)
        victim = redis_cluster.master_of(stream)
        killed_since = utcnow() - timedelta(seconds=1)
        victim.stop()  # SIGKILL
        killed = time.monotonic()

        async def promoted() -> float:
            await eventually(lambda: _served_by_other(redis_cluster, stream, victim), timeout=30, interval=0.05)
            return time.monotonic() - killed

        async def resumed() -> float:  # the first write made after the kill has its effect
            await eventually(
                lambda: any(t.startswith("after-") for _, t in probe.effects(runtime)), timeout=60, interval=0.05
            )
            return time.monotonic() - killed

        failover, resume = asyncio.create_task(promoted()), asyncio.create_task(resumed())
        await steady(AFTER_S, "after")
        failover_s, resume_s = await failover, await resume

        r = async_client(redis_cluster.nodes[-1].url.removesuffix("/0"), cluster=True)
        try:
            await eventually(lambda: _outbox_drained(runtime), timeout=30)
            await eventually(lambda: _group_caught_up(r, stream), timeout=30)
            before_repair = [t for _, t in probe.effects(runtime)]
            lost = sorted(set(accepted) - set(before_repair))
            rows = await republish(runtime.contexts["probe"].store.engine, r, names, Window(since=killed_since))
            await eventually(lambda: set(accepted) <= {t for _, t in probe.effects(runtime)}, timeout=30)
            await eventually(lambda: _group_caught_up(r, stream), timeout=30)
        finally:
            await r.aclose()
        applied = [t for _, t in probe.effects(runtime)]
        figures = record(
            {
                "writes_accepted": len(accepted),
                "writes_refused": refused,
                "killed_master_port": victim.port,
                "failover_s": round(failover_s, 1),  # kill -> the slot served by the promoted replica
                "resume_s": round(resume_s, 1),  # kill -> first effect of a write made after it
                "median_write_before_the_kill_ms": round(
                    1000 * sorted(before_latencies)[len(before_latencies) // 2], 1
                ),
                "median_write_after_the_kill_ms": round(1000 * sorted(latencies)[len(latencies) // 2], 1),
                "slowest_write_after_the_kill_s": round(max(latencies), 2),
                "writes_over_100_ms_after_the_kill": sum(1 for x in latencies if x > 0.1),
                "lost_before_republish": len(lost),
                "republished_rows": rows,
                **tally(applied, accepted),
            }
        )
    assert refused == 0  # writes go to the outbox: none refused while the slot had no master
    assert figures["duplicates"] == 0 and figures["losses"] == 0
    assert sorted(applied) == sorted(accepted)


def _served_by_other(cluster, key: str, victim) -> bool:
    try:
        return cluster.master_of(key) is not victim
    except RuntimeError:
        return False


def _outbox_drained(runtime) -> bool:
    from sqlmodel import Session

    with Session(runtime.contexts["probe"].store.engine) as session:
        count, _ = runtime.contexts["probe"].module.outbox.pending_count(session)
    return count == 0


async def _group_caught_up(r, stream: str) -> bool:
    """The probe's group has read everything on the stream and acknowledged it (lag and pending 0)."""
    try:
        groups = await r.xinfo_groups(stream)
    except Exception:
        return False
    group = next((g for g in groups if g["name"] in (b"probe", "probe")), None)
    return group is not None and group["pending"] == 0 and group.get("lag") == 0
