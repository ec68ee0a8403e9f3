"""A Redis without persistence restarts: what it held is lost, stated, and repaired with republish."""

from __future__ import annotations

import asyncio

import redis.asyncio as aredis
from typer.testing import CliRunner

from ops.cli import events_app
from shared.db.store import Store
from shared.events import new_event
from shared.events.tickets import TicketOpened
from shared.messaging.relay import OutboxRelay
from shared.messaging.streams import StreamNames
from tests.conftest import eventually, token
from tests.reliability.streams import pending, tally
from tests.support import probe

RESIDENT = token("resident:zhang-xiaosen", "resident")
N = 10


async def test_a_restart_without_persistence_loses_in_flight_events_and_republish_repairs_it(
    start_runtime, settings, private_redis, monkeypatch, record
):
    names = StreamNames(settings.stream_prefix)
    stream = names.events("tickets")
    sent: list[str] = []
    async with start_runtime([probe.module], redis_url=private_redis.url) as (runtime, client):
        ready = (await client.get("/readyz")).json()
        for n in range(N):
            r = await client.post(
                "/api/probe/report", headers=RESIDENT, json={"title": f"之前 {n}", "ticket_id": f"A{n}"}
            )
            sent.append(r.json()["event_id"])
        await eventually(lambda: probe.effect_count(runtime) == N, timeout=30)

    # The consumer is down; the producer's relay publishes N more events, then Redis restarts empty.
    store = Store("probe", settings.database_url("probe"), probe.metadata)
    with store.transaction() as session:
        for n in range(N):
            event = new_event(TicketOpened(ticket_id=f"B{n}", category="probe", title=f"在途 {n}"), subject=f"B{n}")
            probe.outbox.add(session, event, stream="tickets")
            sent.append(event.id)
    relay = OutboxRelay(store.engine, probe.outbox, private_redis.url, names)
    assert relay.publish_pending() == N
    relay.close()
    store.dispose()
    before = aredis.Redis.from_url(private_redis.url)
    assert await before.xlen(stream) == 2 * N
    await before.aclose()
    private_redis.stop()
    private_redis.start()
    plain = aredis.Redis.from_url(private_redis.url)

    try:
        async with start_runtime([probe.module], redis_url=private_redis.url) as (runtime, _client):
            await eventually(lambda: _group_ready(plain, stream), timeout=30)  # the guardian recreated it
            lost = tally([e for e, _ in probe.effects(runtime)], sent)["losses"]

            monkeypatch.setenv("REDIS_URL", private_redis.url)
            monkeypatch.setenv("LINLI_STREAM_PREFIX", settings.stream_prefix)
            monkeypatch.setenv("LINLI_VAR_DIR", str(settings.var_dir))
            args = ["republish", "probe", "--since", "1h", "--yes"]
            result = await asyncio.to_thread(CliRunner().invoke, events_app, args)  # the CLI runs its own loop
            assert result.exit_code == 0, result.output
            await eventually(lambda: probe.effect_count(runtime) >= 2 * N, timeout=30)
            await eventually(lambda: _none_pending(plain, stream), timeout=30)
            figures = record(
                {
                    **tally([e for e, _ in probe.effects(runtime)], sent),
                    "lost_by_the_restart": lost,
                    "republished": 2 * N,
                    "dead_letters": await plain.xlen(names.dead_letter),
                }
            )
    finally:
        await plain.aclose()
    assert ready["status"] == "ready" and ready["checks"]["redis.persistence"].startswith("warning: no persistence")
    assert lost == N  # the events in flight were gone with Redis
    assert "republished: 20" in result.output.replace("已重新发布 / ", "")
    assert figures["losses"] == 0 and figures["duplicates"] == 0  # those applied before were skipped
    assert figures["dead_letters"] == 0


async def _group_ready(r, stream) -> bool:
    try:
        return any(g["name"] == b"probe" for g in await r.xinfo_groups(stream))
    except aredis.ResponseError:
        return False


async def _none_pending(r, stream) -> bool:
    return await pending(r, stream, "probe") == 0
