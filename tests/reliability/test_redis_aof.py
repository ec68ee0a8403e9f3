"""A Redis with AOF restarted (killed): groups, pending entries and delivery counts survive."""

from __future__ import annotations

import redis.asyncio as aredis

from shared.messaging.streams import StreamNames
from tests.conftest import eventually
from tests.reliability.streams import pending, pending_deliveries, tally, ticket, xadd
from tests.support import probe
from tests.support.redis_server import RedisServer

N = 20


async def test_an_aof_redis_killed_and_restarted_keeps_groups_pending_entries_and_counts(
    start_runtime, settings, tmp_path, record
):
    server = RedisServer(tmp_path / "aof", extra_args=["--appendonly", "yes", "--appendfsync", "always"])
    server.start()
    names = StreamNames(settings.stream_prefix)
    stream = names.events("tickets")
    try:
        r = aredis.Redis.from_url(server.url)
        await r.xgroup_create(stream, "probe", id="0", mkstream=True)
        sent = []
        for n in range(N):
            event = ticket(n)
            await xadd(r, names, event)
            sent.append(event.id)
        await r.xreadgroup("probe", "crashed-replica", {stream: ">"}, count=N // 2)  # read, never acknowledged
        before = sorted(await pending_deliveries(r, stream, "probe"))
        await r.aclose()
        server.stop()  # SIGKILL
        server.start()

        r = aredis.Redis.from_url(server.url)
        after = sorted(await pending_deliveries(r, stream, "probe"))
        async with start_runtime([probe.module], redis_url=server.url) as (runtime, client):
            ready = (await client.get("/readyz")).json()
            await eventually(lambda: probe.effect_count(runtime) >= N, timeout=30)
            await eventually(lambda: _none_pending(r, stream), timeout=30)
            figures = record(
                {
                    **tally([e for e, _ in probe.effects(runtime)], sent),
                    "pending_before_the_kill": len(before),
                    "pending_after_the_restart": len(after),
                    "dead_letters": await r.xlen(names.dead_letter),
                }
            )
        await r.aclose()
    finally:
        server.stop()
    assert after == before == [1] * (N // 2)  # the same entries pending, each delivered once
    assert ready["checks"]["redis.persistence"] == "ok (aof)"
    assert figures["losses"] == 0 and figures["duplicates"] == 0 and figures["dead_letters"] == 0


async def _none_pending(r, stream) -> bool:
    return await pending(r, stream, "probe") == 0
