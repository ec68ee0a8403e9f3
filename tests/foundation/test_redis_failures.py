"""Redis goes away, comes back empty, or is written to by other clients: nothing is lost."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime

import redis.asyncio as aredis
from sqlalchemy import func, select

from shared.db.store import Store
from shared.messaging.streams import StreamNames
from tests.conftest import eventually, token
from tests.support import probe

RESIDENT = token("resident:zhang-xiaosen", "resident")


async def test_outbox_publishes_after_a_redis_outage(start_runtime, settings, private_redis):
    async with start_runtime([probe.module], redis_url=private_redis.url) as (runtime, client):
        r = await client.post("/api/probe/report", headers=RESIDENT, json={"title": "停电前", "ticket_id": "T1"})
        assert r.status_code == 201
        await eventually(lambda: probe.effect_count(runtime) == 1)

        private_redis.stop()
        for i in range(3):  # writes keep succeeding while Redis is down
            r = await client.post(
                "/api/probe/report", headers=RESIDENT, json={"title": f"停电中{i}", "ticket_id": f"T{i + 2}"}
            )
            assert r.status_code == 201
        private_redis.start()  # it comes back empty: no streams, no groups

        titles = await eventually(
            lambda: [t for _, t in probe.effects(runtime)] if probe.effect_count(runtime) == 4 else None, timeout=30
        )
        assert sorted(titles) == sorted(["停电前", "停电中0", "停电中1", "停电中2"])


async def test_a_flushed_redis_is_survived(start_runtime, settings, private_redis):
    async with start_runtime([probe.module], redis_url=private_redis.url) as (runtime, client):
        await client.post("/api/probe/report", headers=RESIDENT, json={"title": "第一件"})
        await eventually(lambda: probe.effect_count(runtime) == 1)
        plain = aredis.Redis.from_url(private_redis.url)
        await plain.flushall()  # streams and consumer groups are gone
        await client.post("/api/probe/report", headers=RESIDENT, json={"title": "清空之后", "ticket_id": "T2"})
        await eventually(lambda: probe.effect_count(runtime) == 2, timeout=30)
        names = StreamNames(settings.stream_prefix)
        groups = await plain.xinfo_groups(names.events("tickets"))
        assert [g["name"] for g in groups] == [b"probe"]
        await plain.aclose()


async def test_a_stop_while_a_batch_is_on_the_way_to_redis_marks_it_sent_rather_than_publishing_it_again(
    start_runtime, settings, private_redis
):
    plain = aredis.Redis.from_url(private_redis.url)
    stream = StreamNames(settings.stream_prefix).events("tickets")
    async with start_runtime([probe.module], redis_url=private_redis.url) as (_runtime, client):
        await plain.execute_command("CLIENT", "PAUSE", "1200", "WRITE")  # the relay's XADD waits for it
        r = await client.post("/api/probe/report", headers=RESIDENT, json={"title": "关门前", "ticket_id": "T1"})
        assert r.status_code == 201
        await asyncio.sleep(0.3)  # the relay has the row and is writing it (the pause outlasts this, not RELAY_GRACE_S)
    t = probe.outbox.table
    with Store("probe", settings.database_url("probe"), probe.metadata).transaction() as session:
        unsent = session.execute(select(func.count()).select_from(t).where(t.c.sent_at.is_(None))).scalar_one()
    assert (await plain.xlen(stream), unsent) == (1, 0)  # on the stream once, and not pending again
    await plain.aclose()


async def test_a_partner_writing_with_plain_xadd_is_consumed(start_runtime, settings):
    """Any Redis client can publish: one field, the structured-mode CloudEvent JSON."""
    names = StreamNames(settings.stream_prefix)
    plain = aredis.Redis.from_url(settings.redis_url, decode_responses=True)
    async with start_runtime([probe.module]) as (runtime, _client):
        event = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "/partners/city-library",
            "type": "cn.linli.tickets.TicketOpened.v1",
            "time": "2026-11-28T09:30:00+08:00",
            "subject": "P-1",
            "datacontenttype": "application/json",
            "data": {"ticket_id": "P-1", "category": "street_light", "title": "路灯闪烁"},
        }
        await plain.xadd(names.events("tickets"), {"cloudevent": json.dumps(event, ensure_ascii=False)})
        await eventually(lambda: probe.effect_count(runtime) == 1)
        assert probe.effects(runtime) == [(event["id"], "路灯闪烁")]
    await plain.aclose()


async def test_a_plain_xrange_reader_parses_our_events_as_cloudevents(start_runtime, settings):
    names = StreamNames(settings.stream_prefix)
    plain = aredis.Redis.from_url(settings.redis_url, decode_responses=True)
    async with start_runtime([probe.module]) as (_runtime, client):
        r = await client.post("/api/probe/report", headers=RESIDENT, json={"title": "井盖松动", "ticket_id": "T-42"})
        event_id = r.json()["event_id"]
        entries = await eventually(lambda: plain.xrange(names.events("tickets")))
    ((_entry_id, fields),) = entries
    assert fields["type"] == "cn.linli.tickets.TicketOpened.v1"
    event = json.loads(fields["cloudevent"])
    assert event["specversion"] == "1.0"
    assert event["id"] == event_id
    assert event["source"] == "/linli/tickets"
    assert event["type"] == "cn.linli.tickets.TicketOpened.v1"
    assert event["subject"] == "T-42"
    assert event["datacontenttype"] == "application/json"
    assert event["dataschema"] == "urn:linli:schema:cn.linli.tickets.TicketOpened.v1"
    assert event["correlationid"] == event_id
    assert datetime.fromisoformat(event["time"]).utcoffset() is not None
    assert event["data"]["title"] == "井盖松动"
    await plain.aclose()
