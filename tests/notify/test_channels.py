"""Messages reach people's own channels through real receivers, rendered in their language."""

from __future__ import annotations

from datetime import UTC, datetime

import redis.asyncio as aredis

from shared.events.library import LoanDueSoon
from shared.events.tickets import TicketAcknowledged
from shared.events.volunteers import VisitDue
from tests.conftest import eventually, token
from tests.notify.conftest import Mailbox, handled, publish, tick

STAFF = token("staff:li-yao", "staff", name="李瑶")


async def register(client, user_id: str, name: str, **prefs) -> None:
    r = await client.put(
        f"/api/notify/recipients/{user_id}", headers=STAFF, json={"display_name": name, "roles": ["resident"], **prefs}
    )
    assert r.status_code == 200, r.text


async def test_email_in_chinese_and_webhook_in_english(start_runtime, clock, mailbox, receiver):
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        await register(client, "resident:zhang-xiaosen", "张晓森", channels=[{"url": mailbox.url("zxs@example.com")}])
        await register(
            client, "resident:zhao-xiaotong", "赵晓彤", language="en", channels=[{"url": receiver.url("/zxt")}]
        )
        due = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
        for reader in ("resident:zhang-xiaosen", "resident:zhao-xiaotong"):
            await publish(
                runtime,
                LoanDueSoon(
                    barcode="B1",
                    title="平凡的世界",
                    loan_id=f"L-{reader}",
                    reader_id="R1",
                    due_at=due,
                    days_left=3,
                    reader_user=reader,
                ),
            )
        await handled(runtime, 2)
        assert await tick(runtime) == 2

        [mail] = mailbox.to("zxs@example.com")
        assert mail["Subject"] == "图书即将到期：平凡的世界"
        assert "张晓森您好" in Mailbox.text(mail) and "2026-12-01 18:00" in Mailbox.text(mail)
        [post] = receiver.posts
        assert post["path"] == "/zxt" and post["title"] == "Book due soon: 平凡的世界"
        assert "Hello 赵晓彤" in post["message"] and "3 days left" in post["message"]

        # the activity feed shows each delivery sent on its first attempt, the provider's answer kept
        log = (
            await client.get("/api/notify/deliveries", headers=STAFF, params={"recipient": "resident:zhang-xiaosen"})
        ).json()["items"]
        assert [(d["channel"], d["status"], d["attempts"]) for d in log] == [("email", "sent", 1)]
        assert log[0]["log"][0]["outcome"] == "sent" and "zxs@example.com" in log[0]["log"][0]["response"]
        # a second tick sends nothing again
        assert await tick(runtime) == 0
        assert len(mailbox.messages) == 1 and len(receiver.posts) == 1


async def test_notification_sent_event_links_to_its_cause(start_runtime, clock, receiver):
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        await register(client, "resident:zhang-xiaosen", "张晓森", channels=[{"url": receiver.url()}])
        cause = await publish(
            runtime,
            TicketAcknowledged(
                ticket_id="T-9",
                category="manhole",
                title="井盖松动",
                actor="staff:li-yao",
                reporter="resident:zhang-xiaosen",
            ),
            subject="T-9",
        )
        await handled(runtime, 1)
        await tick(runtime)
        redis = aredis.Redis.from_url(runtime.settings.redis_url)

        async def sent_events():
            return await redis.xrange(runtime.names.events("notify"))

        import json

        entries = await eventually(sent_events)
        doc = json.loads(entries[0][1][b"cloudevent"])
        assert doc["type"] == "cn.linli.notify.NotificationSent.v1"
        assert doc["causationid"] == cause.id and doc["correlationid"] == cause.correlationid
        assert doc["data"]["recipient"] == "resident:zhang-xiaosen" and doc["data"]["channel"] == "webhook"
        await redis.aclose()
        metrics = (await client.get("/metrics")).text
        assert 'linli_notifications_total{channel="webhook",outcome="sent"}' in metrics


async def test_chat_bot_channel_is_named_by_its_scheme_and_its_address_is_masked(start_runtime, clock):
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        await register(
            client,
            "volunteer:wang-guilan",
            "王桂兰",
            channels=[{"url": "wecombot://0123456789abcdef-secret-key"}, {"url": "mailto://user:pw@qq.com"}],
        )
        shown = (await client.get("/api/notify/recipients/volunteer:wang-guilan", headers=STAFF)).json()
        assert [c["name"] for c in shown["channels"]] == ["wecombot", "email"]
        assert all("secret" not in c["url"] and "pw" not in c["url"] for c in shown["channels"])
        await publish(
            runtime,
            VisitDue(
                elder_id="E1",
                community="3502",
                visit_id="V1",
                elder_name="郝连芳",
                due_at=clock.now(),
                tier="key",
                volunteer_users=["volunteer:wang-guilan"],
                address="际华苑3号楼2单元101",
            ),
        )
        await handled(runtime, 1)
        [delivery] = (
            await client.get("/api/notify/deliveries", headers=STAFF, params={"recipient": "volunteer:wang-guilan"})
        ).json()["items"]
        assert delivery["channel"] == "wecombot" and delivery["title"] == "今日探访：郝连芳"
