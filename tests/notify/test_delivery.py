"""Delivery: retries with backoff, fallback to the next channel, NotificationFailed; exactly once under
duplicate events and concurrent dispatchers; scheduled sends across a restart and two replicas."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import redis.asyncio as aredis
from sqlmodel import select

from services.notify import jobs
from services.notify.adapters.orm import Delivery
from services.notify.domain.schedule import RetryPolicy
from services.notify.service_layer.dispatch import claim
from shared.events.library import LoanOverdue
from shared.events.tickets import TicketAcknowledged
from tests.conftest import eventually, token
from tests.notify.conftest import handled, publish, tick
from tests.support.redis_server import free_port

STAFF = token("staff:li-yao", "staff", name="李瑶")
RESIDENT = token("resident:zhang-xiaosen", "resident", name="张晓森")
NIGHT = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai


def loan(n: int = 1) -> LoanOverdue:
    return LoanOverdue(
        barcode=f"B{n}",
        title="平凡的世界",
        loan_id=f"L{n}",
        reader_id="R1",
        due_at=NIGHT,
        days_overdue=2,
        reader_user="resident:zhang-xiaosen",
    )


async def notify_events(runtime) -> list[dict]:
    client = aredis.Redis.from_url(runtime.settings.redis_url)
    try:
        return [json.loads(f[b"cloudevent"]) for _, f in await client.xrange(runtime.names.events("notify"))]
    finally:
        await client.aclose()


async def feed(client, **params) -> list[dict]:
    r = await client.get("/api/notify/deliveries", headers=STAFF, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_default_policy_is_six_attempts_over_about_half_an_hour():
    policy = RetryPolicy()
    assert policy.max_attempts == 6
    assert timedelta(minutes=28) <= policy.total() <= timedelta(minutes=32)
    delays = [policy.delay(n).total_seconds() for n in range(1, 6) for _ in range(20)]
    assert min(delays) >= 60 * 0.8 and max(delays) <= 960 * 1.2 and len(set(delays)) > 50  # jittered


async def test_retries_then_fallback_to_the_next_channel(start_runtime, clock, receiver, mailbox):
    receiver.status = 500
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        runtime.contexts["notify"].state["policy"] = RetryPolicy(max_attempts=3, base_seconds=60)
        r = await client.put(
            "/api/notify/preferences",
            headers=RESIDENT,
            json={"channels": [{"url": receiver.url()}, {"url": mailbox.url("zxs@example.com")}]},
        )
        assert r.status_code == 200, r.text
        event = await publish(runtime, loan())
        await handled(runtime, 1)
        await tick(runtime)
        await tick(runtime)  # not due again yet: still one attempt
        [webhook] = await feed(client, event_id=event.id)
        assert (webhook["status"], webhook["attempts"]) == ("pending", 1)
        assert "500" in webhook["last_error"] or "error" in webhook["last_error"].lower()
        for _ in range(2):
            clock.advance(timedelta(minutes=3))
            await tick(runtime)
        assert mailbox.messages == [] and receiver.posts == []
        await tick(runtime)  # the fallback delivery was created due now
        [mail] = mailbox.messages
        assert mail["Subject"] == "图书已逾期：平凡的世界"
        rows = {d["channel"]: d for d in await feed(client, event_id=event.id)}
        assert (rows["webhook"]["status"], rows["webhook"]["attempts"]) == ("failed", 3)
        assert [a["outcome"] for a in rows["webhook"]["log"]] == ["retry", "retry", "failed"]
        assert (rows["email"]["status"], rows["email"]["reason"]) == ("sent", "fallback")
        [sent] = await eventually(lambda: notify_events(runtime))
        assert sent["type"] == "cn.linli.notify.NotificationSent.v1" and sent["data"]["channel"] == "email"


async def test_every_channel_failing_ends_in_notification_failed(start_runtime, clock, receiver):
    receiver.status = 503
    dead_smtp = f"mailto://127.0.0.1:{free_port()}?from=notify@linli.test&to=zxs@example.com&mode=insecure"
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        r = await client.put(
            "/api/notify/preferences",
            headers=RESIDENT,
            json={"channels": [{"url": receiver.url()}, {"url": dead_smtp}]},
        )
        assert r.status_code == 200, r.text
        event = await publish(runtime, loan())
        await handled(runtime, 1)
        started = clock.now()
        for _ in range(90):  # default policy: 6 attempts per channel, a minute of clock at a time
            await tick(runtime)
            if len(await feed(client, status="failed")) == 2:
                break
            clock.advance(timedelta(minutes=1))
        [failed] = await eventually(lambda: notify_events(runtime))
        assert failed["type"] == "cn.linli.notify.NotificationFailed.v1" and failed["causationid"] == event.id
        assert failed["data"]["attempts"] == 12 and failed["data"]["recipient"] == "resident:zhang-xiaosen"
        rows = {d["channel"]: d for d in await feed(client, recipient="resident:zhang-xiaosen", status="failed")}
        assert set(rows) == {"webhook", "email"} and all(len(d["log"]) == 6 for d in rows.values())
        first = datetime.fromisoformat(rows["webhook"]["log"][0]["at"])
        last = datetime.fromisoformat(rows["webhook"]["log"][-1]["at"])
        assert timedelta(minutes=24) <= last - first <= timedelta(minutes=40)
        assert clock.now() - started < timedelta(minutes=85)


async def test_duplicate_events_and_concurrent_dispatchers_send_once(start_runtime, clock, mailbox):
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        r = await client.put(
            "/api/notify/preferences", headers=RESIDENT, json={"channels": [{"url": mailbox.url("zxs@example.com")}]}
        )
        assert r.status_code == 200, r.text
        event = await publish(
            runtime,
            TicketAcknowledged(
                ticket_id="T-1",
                category="manhole",
                title="井盖松动",
                actor="staff:li-yao",
                reporter="resident:zhang-xiaosen",
            ),
        )
        for _ in range(3):
            await _republish(runtime, event)
        await eventually(lambda: settled(runtime, "tickets", 4))
        ctx = runtime.contexts["notify"]
        await asyncio.gather(*(asyncio.to_thread(jobs.tick, ctx, clock.now()) for _ in range(3)))
        inbox = (await client.get("/api/notify/inbox", headers=RESIDENT)).json()["items"]
        assert [m["title"] for m in inbox] == ["您的报事已受理：井盖松动"]
        assert len(mailbox.messages) == 1
        assert len(await feed(client, event_id=event.id)) == 1


async def settled(runtime, producer: str, entries: int) -> bool:
    """notify's group has read ``entries`` entries of the stream and acknowledged them all."""
    client = aredis.Redis.from_url(runtime.settings.redis_url)
    try:
        [group] = await client.xinfo_groups(runtime.names.events(producer))
        return group["entries-read"] == entries and group["pending"] == 0
    finally:
        await client.aclose()


async def _republish(runtime, event) -> None:
    from shared.messaging.streams import encode_entry

    client = aredis.Redis.from_url(runtime.settings.redis_url)
    try:
        await client.xadd(runtime.names.events("tickets"), encode_entry(event.to_json(), event.type))
    finally:
        await client.aclose()


async def test_held_messages_survive_a_restart_and_two_replicas_send_them_once(
    start_runtime, clock, mailbox, pg_database, monkeypatch
):
    monkeypatch.setenv("NOTIFY_DATABASE_URL", pg_database("notify"))
    clock.set(NIGHT)
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        r = await client.put(
            "/api/notify/preferences",
            headers=RESIDENT,
            json={"quiet_start": "22:00", "quiet_end": "07:00", "channels": [{"url": mailbox.url("zxs@example.com")}]},
        )
        assert r.status_code == 200, r.text
        await publish(runtime, loan(1))
        await publish(runtime, loan(2))
        await handled(runtime, 2)
        await tick(runtime)
        assert mailbox.messages == []
    # the process is gone; two new replicas start the next morning
    clock.set(datetime(2026, 11, 28, 23, 5, tzinfo=UTC))
    async with (
        start_runtime(["notify"], clock=clock) as (one, _c1),
        start_runtime(["notify"], clock=clock, consumer_name="c2") as (two, _c2),
    ):
        sends = await asyncio.gather(
            *(asyncio.to_thread(jobs.tick, rt.contexts["notify"], clock.now()) for rt in (one, two, one, two))
        )
        assert sum(sends) == 1
        [mail] = mailbox.messages
        assert mail["Subject"] == "您有 2 条新通知"


async def test_a_claim_left_by_a_dead_process_is_sent_after_the_lease(start_runtime, clock, receiver):
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        r = await client.put("/api/notify/preferences", headers=RESIDENT, json={"channels": [{"url": receiver.url()}]})
        assert r.status_code == 200, r.text
        event = await publish(runtime, loan())
        await handled(runtime, 1)
        ctx = runtime.contexts["notify"]
        with ctx.store.transaction() as session:  # a dispatcher claims it, then its process dies before sending
            [row] = session.exec(select(Delivery)).all()
            assert claim(session, row.id, clock.now())
        await tick(runtime)
        assert receiver.posts == []
        clock.advance(timedelta(minutes=6))  # past the 5-minute lease
        await tick(runtime)
        assert [p["title"] for p in receiver.posts] == ["图书已逾期：平凡的世界"]
        [delivery] = await feed(client, event_id=event.id)
        assert (delivery["status"], delivery["attempts"]) == ("sent", 1)
