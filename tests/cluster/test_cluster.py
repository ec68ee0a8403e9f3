"""Linli on a Redis Cluster (three masters, a replica each, started by the test): the foundation's
reliability mechanisms (relay, inbox, retries, dead letters, redrive, reclaiming a dead consumer's
entries) and the cross-service flow, with every key of a deployment in one hash slot.

The single-Redis default is what every other test runs on; ``test_the_single_redis_names_are_unchanged``
keeps its key names as they were.
"""

from __future__ import annotations

import redis.asyncio as aredis
from redis.cluster import key_slot

from ops.dlq import redrive
from shared.events.tickets import TicketOpened
from shared.messaging.connection import async_client, has_hash_tag, tagged_prefix
from shared.messaging.streams import StreamNames, encode_entry
from tests.conftest import eventually, token
from tests.reliability.streams import pending, ticket, xadd
from tests.support import probe

RESIDENT = token("resident:zhang-xiaosen", "resident", name="张晓森")
STAFF = token("staff:li-yao", "staff", name="李瑶")


def test_the_single_redis_names_are_unchanged_and_a_cluster_prefix_is_one_hash_tag():
    plain = StreamNames.configured("linli")
    assert (plain.events("tickets"), plain.dead_letter, plain.retry("notify")) == (
        "linli:tickets",
        "linli:dlq",
        "linli:retry:notify",
    )
    names = StreamNames.configured("linli", cluster=True)
    keys = [
        *names.all_event_streams(),
        names.dead_letter,
        names.retry("notify"),
        names.errors("notify"),
        names.partner_ingress("CN-SJZ-LIB"),
        f"{names.dead_letter}:discarded",
    ]
    assert keys[0] == "{linli}:tickets"
    assert len({key_slot(k.encode()) for k in keys}) == 1
    assert tagged_prefix("{district-7}:linli") == "{district-7}:linli" and has_hash_tag("{district-7}:linli")
    assert not has_hash_tag("linli{}") and tagged_prefix("linli{}") == "{linli{}}"


async def _cluster_client(redis_cluster) -> aredis.Redis:
    return async_client(redis_cluster.url, cluster=True)


async def test_relay_inbox_retries_dead_letters_and_redrive_on_a_cluster(
    start_runtime, settings, on_cluster, redis_cluster, monkeypatch
):
    names = StreamNames.configured(settings.stream_prefix, cluster=True)
    stream = names.events("tickets")
    r = await _cluster_client(redis_cluster)
    try:
        async with start_runtime([probe.module], max_event_bytes=4096, **on_cluster) as (runtime, client):
            assert runtime.names == names
            # the relay: a write through the outbox reaches the consumer
            reply = await client.post(
                "/api/probe/report", headers=RESIDENT, json={"title": "经由发件箱", "ticket_id": "T0"}
            )
            assert reply.status_code == 201
            await eventually(lambda: probe.effect_count(runtime) == 1, timeout=15)
            # the inbox: the same event twice, one effect
            twice = ticket(1)
            await xadd(r, names, twice)
            await xadd(r, names, twice)
            # bad input: the consumer's MULTI (XADD dead letter + XACK) on one slot
            await r.xadd(stream, {"cloudevent": b"\xff not json"})
            # a failing handler: retried by the reclaimer, dead-lettered in its MULTI after 5 deliveries
            bad = ticket(2, title="boom 井盖")
            await xadd(r, names, bad)
            await xadd(r, names, ticket(3))
            dead = await eventually(lambda: _at_least(r, names.dead_letter, 2), timeout=30)
            assert sorted(f[b"reason"] for _, f in dead) == [b"handler_failed", b"not_json"]
            assert probe.attempts[bad.id] == 5
            await xadd(r, names, ticket(4))
            await eventually(lambda: probe.effect_count(runtime) == 4, timeout=15)
            # the redrive MULTI (XADD retry stream + XDEL dead letter), after the handler is fixed
            monkeypatch.setitem(
                probe.consumer.handlers,
                TicketOpened.event_type,
                lambda ctx, event, data, session: session.add(probe.Effect(event_id=event.id, title=data.title)),
            )
            handler_failed = [i.decode() for i, f in dead if f[b"reason"] == b"handler_failed"]
            assert len(await redrive(r, names, handler_failed, operator="test")) == 1
            await eventually(lambda: probe.effect_count(runtime) == 5, timeout=15)
            await eventually(lambda: _none_pending(r, stream), timeout=15)
            applied = [e for e, _ in probe.effects(runtime)]
            assert len(applied) == len(set(applied)) == 5 and bad.id in applied and twice.id in applied
            assert await r.xlen(names.dead_letter) == 1
    finally:
        await r.aclose()


async def test_a_dead_consumers_entries_are_reclaimed_on_a_cluster(start_runtime, settings, on_cluster, redis_cluster):
    names = StreamNames.configured(settings.stream_prefix, cluster=True)
    stream = names.events("tickets")
    r = await _cluster_client(redis_cluster)
    sent = [ticket(n) for n in range(20)]
    try:
        await r.xgroup_create(stream, "probe", id="0", mkstream=True)
        for event in sent:
            await r.xadd(stream, encode_entry(event.to_json(), event.type))
        await r.xreadgroup("probe", "crashed-replica", {stream: ">"}, count=10)  # read, never acknowledged
        async with start_runtime([probe.module], **on_cluster) as (runtime, _client):
            await eventually(lambda: probe.effect_count(runtime) == len(sent), timeout=20)
            await eventually(lambda: _none_pending(r, stream), timeout=15)
            assert sorted(e for e, _ in probe.effects(runtime)) == sorted(e.id for e in sent)
    finally:
        await r.aclose()


async def test_the_cross_service_flow_on_a_cluster(start_runtime, settings, on_cluster, redis_cluster):
    """A resident's report reaches on-duty staff, staff's acknowledgement reaches the resident."""
    duty = {"user_id": "staff:li-yao", "display_name": "李瑶", "roles": ["staff"], "categories": ["*"], "on_duty": True}
    async with start_runtime(["tickets", "notify", "volunteers"], **on_cluster) as (runtime, client):
        assert (await client.put("/api/notify/recipients/staff:li-yao", headers=STAFF, json=duty)).status_code == 200
        r = await client.post(
            "/api/tickets/tickets",
            headers=RESIDENT,
            json={"category": "manhole", "title": "井盖松动", "description": "3号楼前", "community": "北翟营"},
        )
        assert r.status_code == 201, r.text
        ticket_id = r.json()["id"]
        staff_inbox = await eventually(lambda: _inbox(client, STAFF), timeout=20)
        assert [m["subject"] for m in staff_inbox] == [ticket_id]
        ack = await client.post(f"/api/tickets/tickets/{ticket_id}/acknowledge", headers=STAFF, json={"template": 0})
        assert ack.status_code == 200, ack.text
        resident_inbox = await eventually(lambda: _inbox(client, RESIDENT), timeout=20)
        assert resident_inbox[0]["subject"] == ticket_id
        ready = (await client.get("/readyz")).json()
        assert ready["checks"]["redis"] == "ok" and ready["checks"]["notify.groups"] == "ok", ready
    # every key this flow made lies in the deployment's one slot
    r = await _cluster_client(redis_cluster)
    try:
        keys = [k async for k in r.scan_iter(match=f"{runtime.names.prefix}:*")]
    finally:
        await r.aclose()
    assert keys and len({key_slot(k) for k in keys}) == 1


async def _inbox(client, who) -> list[dict]:
    return (await client.get("/api/notify/inbox", headers=who)).json()["items"]


async def _at_least(r, key: str, n: int):
    entries = await r.xrange(key)
    return entries if len(entries) >= n else None


async def _none_pending(r, stream) -> bool:
    return await pending(r, stream, "probe") == 0
