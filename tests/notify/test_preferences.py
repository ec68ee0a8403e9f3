"""Quiet hours with a critical override, the daily digest, the rate limit and channels muted per category."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from services.notify.adapters.orm import Delivery
from services.notify.service_layer import routing
from shared.clock import as_utc
from shared.events.envelope import new_event
from shared.events.library import HoldReady, LoanOverdue
from shared.events.tickets import TicketAcknowledged, TicketResponseOverdue
from shared.events.volunteers import VisitMissed
from tests.conftest import token
from tests.notify.conftest import Mailbox, handled, publish, tick

STAFF = token("staff:li-yao", "staff", name="李瑶")
RESIDENT = token("resident:zhang-xiaosen", "resident", name="张晓森")
LEADER = token("volunteer:zhang-xiuqin", "volunteer", "team_leader", name="张秀芹")
NIGHT = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai


def overdue(n: int, reader: str = "resident:zhang-xiaosen") -> LoanOverdue:
    return LoanOverdue(
        barcode=f"B{n}",
        title=f"书{n}",
        loan_id=f"L{n}",
        reader_id="R1",
        due_at=NIGHT,
        days_overdue=n,
        reader_user=reader,
    )


async def test_quiet_hours_hold_ordinary_messages_and_let_critical_ones_through(start_runtime, clock, mailbox):
    clock.set(NIGHT)
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        r = await client.put(
            "/api/notify/preferences",
            headers=RESIDENT,
            json={"quiet_start": "22:00", "quiet_end": "07:00", "channels": [{"url": mailbox.url("zxs@example.com")}]},
        )
        assert r.status_code == 200, r.text
        assert r.json()["quiet_hours"] == {"start": "22:00", "end": "07:00"}
        r = await client.put(
            "/api/notify/preferences",
            headers=STAFF,
            json={
                "quiet_start": "22:00",
                "quiet_end": "07:00",
                "channels": [{"url": mailbox.url("liyao@example.com")}],
            },
        )
        assert r.status_code == 200, r.text
        await publish(
            runtime,
            TicketAcknowledged(
                ticket_id="T-1",
                category="manhole",
                title="井盖松动",
                actor="staff:wang",
                reporter="resident:zhang-xiaosen",
            ),
        )
        await publish(
            runtime,
            TicketResponseOverdue(
                ticket_id="T-2", category="manhole", title="井盖松动", level=2, due=NIGHT, escalated_to="staff:li-yao"
            ),
        )
        await handled(runtime, 2)
        await tick(runtime)
        # the SLA escalation is critical: it goes at 23:00; the resident's acknowledgement waits
        assert [m["Subject"] for m in mailbox.messages] == ["超时未响应（2级）：井盖松动"]
        # the in-app inbox has it at once (it does not ring)
        inbox = (await client.get("/api/notify/inbox", headers=RESIDENT)).json()["items"]
        assert [m["title"] for m in inbox] == ["您的报事已受理：井盖松动"]

        clock.set(datetime(2026, 11, 28, 22, 59, tzinfo=UTC))  # 06:59
        await tick(runtime)
        assert mailbox.to("zxs@example.com") == []
        clock.set(datetime(2026, 11, 28, 23, 0, tzinfo=UTC))  # 07:00 in Shanghai
        await tick(runtime)
        [mail] = mailbox.to("zxs@example.com")
        assert mail["Subject"] == "您的报事已受理：井盖松动"


async def test_quiet_hours_follow_the_recipients_time_zone(start_runtime, clock, receiver):
    clock.set(NIGHT)  # 23:00 in Shanghai, 15:00 in London
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        r = await client.put(
            "/api/notify/preferences",
            headers=RESIDENT,
            json={
                "timezone": "Europe/London",
                "quiet_start": "22:00",
                "quiet_end": "07:00",
                "channels": [{"url": receiver.url()}],
            },
        )
        assert r.status_code == 200, r.text
        await publish(runtime, overdue(1))
        await handled(runtime, 1)
        await tick(runtime)
        assert [p["title"] for p in receiver.posts] == ["图书已逾期：书1"]


async def test_missed_high_risk_visit_overrides_quiet_hours_ordinary_miss_waits(start_runtime, clock, receiver):
    clock.set(NIGHT)
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        r = await client.put(
            "/api/notify/preferences",
            headers=LEADER,
            json={"quiet_start": "21:00", "quiet_end": "07:00", "channels": [{"url": receiver.url()}]},
        )
        assert r.status_code == 200, r.text
        for visit, critical, name in (("V1", True, "李淑华"), ("V2", False, "周玉兰")):
            await publish(
                runtime,
                VisitMissed(
                    elder_id=f"E-{visit}",
                    community="3502",
                    visit_id=visit,
                    due_at=NIGHT,
                    tier="high_risk" if critical else "general",
                    miss_count=2,
                    critical=critical,
                    elder_name=name,
                    team_leader="volunteer:zhang-xiuqin",
                ),
            )
        await handled(runtime, 2)
        await tick(runtime)
        assert [p["title"] for p in receiver.posts] == ["探访未完成：李淑华"]
        assert "高风险" in receiver.posts[0]["message"]


async def test_daily_digest_folds_the_day_into_one_message(start_runtime, clock, mailbox):
    async with start_runtime(["notify"], clock=clock) as (runtime, client):  # 10:00 in Shanghai
        r = await client.put(
            "/api/notify/preferences",
            headers=RESIDENT,
            json={"digest_hour": 20, "channels": [{"url": mailbox.url("zxs@example.com")}]},
        )
        assert r.status_code == 200, r.text
        for n in (1, 2, 3):
            await publish(runtime, overdue(n))
        await handled(runtime, 3)
        await tick(runtime)
        assert mailbox.messages == []
        clock.set(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))  # 20:00 in Shanghai
        await tick(runtime)
        [mail] = mailbox.messages
        assert mail["Subject"] == "您有 3 条新通知"
        assert all(f"图书已逾期：书{n}" in Mailbox.text(mail) for n in (1, 2, 3))
        feed = (await client.get("/api/notify/deliveries", headers=STAFF, params={"status": "sent"})).json()["items"]
        assert len(feed) == 3 and {d["reason"] for d in feed} == {"digest"}
        assert all(d["log"][0]["folded"] == 3 for d in feed)


async def test_rate_limit_folds_a_burst_into_one_message(start_runtime, clock, receiver):
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        r = await client.put(
            "/api/notify/preferences",
            headers=RESIDENT,
            json={"rate_limit": 2, "rate_window_minutes": 10, "channels": [{"url": receiver.url()}]},
        )
        assert r.status_code == 200, r.text
        for n in range(1, 6):
            await publish(runtime, overdue(n))
        await handled(runtime, 5)
        await tick(runtime)
        assert [p["title"] for p in receiver.posts] == ["图书已逾期：书1", "图书已逾期：书2"]
        clock.advance(timedelta(minutes=10))
        await tick(runtime)
        assert len(receiver.posts) == 3
        assert receiver.posts[2]["title"] == "您有 3 条新通知"
        assert all(f"书{n}" in receiver.posts[2]["message"] for n in (3, 4, 5))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_rate_limit_counts_the_earlier_messages_of_the_same_batch(
    start_runtime, clock, receiver, backend, pg_database, monkeypatch
):
    """Events routed together (one batch) count against the limit as if they had come one by one."""
    if backend == "postgresql":
        monkeypatch.setenv("NOTIFY_DATABASE_URL", pg_database("notify"))
    start = clock.now()
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        r = await client.put(
            "/api/notify/preferences",
            headers=RESIDENT,
            json={"rate_limit": 2, "rate_window_minutes": 10, "channels": [{"url": receiver.url()}]},
        )
        assert r.status_code == 200, r.text
        ctx = runtime.contexts["notify"]
        burst = [(new_event(overdue(n), time=start), overdue(n)) for n in range(1, 6)]
        with ctx.store.transaction() as session:
            assert routing.notify_events(ctx, burst[:4], session) == 4
        clock.advance(timedelta(minutes=1))
        with ctx.store.transaction() as session:  # a later batch: the four above are in the store now
            assert routing.notify_events(ctx, burst[4:], session) == 1
        with ctx.store.transaction(readonly=True) as session:
            rows = {d.event_id: d for d in session.exec(select(Delivery)).all()}
        assert [rows[event.id].reason for event, _ in burst] == ["now", "now", "rate_limit", "rate_limit", "rate_limit"]
        assert {as_utc(rows[event.id].due_at) for event, _ in burst[2:]} == {start + timedelta(minutes=10)}
        assert len((await client.get("/api/notify/inbox", headers=RESIDENT)).json()["items"]) == 5
        await tick(runtime)
        assert [p["title"] for p in receiver.posts] == ["图书已逾期：书1", "图书已逾期：书2"]
        clock.advance(timedelta(minutes=9))
        await tick(runtime)
        assert len(receiver.posts) == 3 and receiver.posts[2]["title"] == "您有 3 条新通知"


async def test_a_channel_muted_for_a_category_stays_silent_for_it(start_runtime, clock, receiver):
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        r = await client.put(
            "/api/notify/preferences",
            headers=RESIDENT,
            json={"muted": {"library": ["webhook"]}, "channels": [{"url": receiver.url()}]},
        )
        assert r.status_code == 200, r.text
        await publish(
            runtime,
            HoldReady(
                hold_id="H1",
                reader_id="R1",
                isbn="9787",
                title="活着",
                pickup_branch="明珠花苑书屋",
                expires_at=NIGHT,
                reader_user="resident:zhang-xiaosen",
            ),
        )
        await publish(
            runtime,
            TicketAcknowledged(
                ticket_id="T-1",
                category="manhole",
                title="井盖松动",
                actor="staff:wang",
                reporter="resident:zhang-xiaosen",
            ),
        )
        await handled(runtime, 2)
        await tick(runtime)
        assert [p["title"] for p in receiver.posts] == ["您的报事已受理：井盖松动"]
        inbox = (await client.get("/api/notify/inbox", headers=RESIDENT)).json()["items"]
        assert len(inbox) == 2  # the in-app inbox always has both


async def test_preferences_are_validated_and_private(start_runtime):
    async with start_runtime(["notify"]) as (_runtime, client):
        for bad in (
            {"quiet_start": "25:00", "quiet_end": "07:00"},
            {"timezone": "Mars/Base"},
            {"language": "fr"},
            {"quiet_start": "22:00"},
            {"muted": {"parking": ["email"]}},
            {"channels": [{"url": "not a url"}]},
        ):
            r = await client.put("/api/notify/preferences", headers=RESIDENT, json=bad)
            assert r.status_code == 422, (bad, r.text)
        assert (await client.get("/api/notify/preferences")).status_code == 401
        mine = (await client.get("/api/notify/preferences", headers=RESIDENT)).json()
        assert mine["language"] == "zh-CN" and mine["timezone"] == "Asia/Shanghai" and mine["quiet_hours"] is None
        # someone else's recipient record is for staff only
        r = await client.put(
            "/api/notify/recipients/resident:zhao-xiaotong", headers=RESIDENT, json={"display_name": "赵晓彤"}
        )
        assert r.status_code == 403
        assert (await client.get("/api/notify/recipients/resident:zhang-xiaosen", headers=RESIDENT)).status_code == 403
