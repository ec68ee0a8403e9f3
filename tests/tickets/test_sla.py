"""SLA clocks: overdue events and two escalation levels with a moved clock, exactly once even with two
replicas on PostgreSQL, none lost across a restart, and auto-close after 7 days."""

import asyncio
from datetime import timedelta

from prometheus_client import REGISTRY

from services.tickets.jobs import tick
from services.tickets.module import module
from tests.conftest import eventually
from tests.tickets.helpers import RESIDENT, STAFF, published, report

T = "/api/tickets/tickets"
CONTACTS = {"supervisor": "staff:wang-jianguo", "secretary": "staff:li-yao"}


def escalations(kind: str, level: int) -> float:
    return REGISTRY.get_sample_value("linli_sla_escalations_total", {"kind": kind, "level": str(level)}) or 0.0


async def overdue(settings, n: int):
    async def check():
        events = await published(settings, type_suffix="TicketResponseOverdue") + await published(
            settings, type_suffix="TicketResolutionOverdue"
        )
        return events if len(events) >= n else None

    return await eventually(check)


def test_the_sla_job_is_registered_as_a_ticker():
    assert ("sla", 30.0, tick) in module.tickers


async def test_both_escalation_levels_fire_once_per_deadline_as_the_clock_moves(start_runtime, clock, settings):
    async with start_runtime(["tickets"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["tickets"]
        assert (await client.put("/api/tickets/categories/manhole", headers=STAFF, json=CONTACTS)).status_code == 200
        tid = (await report(client))["id"]  # 02:00 UTC; response due 04:00, resolution due +24 h
        before = escalations("response", 1), escalations("response", 2)

        assert tick(ctx, clock.advance(timedelta(hours=1, minutes=59))) == 0
        assert tick(ctx, clock.advance(timedelta(minutes=2))) == 1  # 04:01: level 1 -> supervisor
        assert tick(ctx, clock.advance(timedelta(minutes=30))) == 0  # not again
        view = (await client.get(f"{T}/{tid}", headers=STAFF)).json()
        assert view["escalation_level"] == 1 and view["escalated_to"] == "staff:wang-jianguo"
        assert tick(ctx, clock.advance(timedelta(hours=2))) == 1  # 06:31: second breach -> secretary
        assert tick(ctx, clock.now()) == 0
        view = (await client.get(f"{T}/{tid}", headers=STAFF)).json()
        assert view["escalation_level"] == 2 and view["escalated_to"] == "staff:li-yao"
        assert escalations("response", 1) == before[0] + 1 and escalations("response", 2) == before[1] + 1

        events = await overdue(settings, 2)
        data = [e["data"] for e in events]
        assert [(d["level"], d["escalated_to"]) for d in data] == [(1, "staff:wang-jianguo"), (2, "staff:li-yao")]
        assert all(d["reporter"] == "resident:zhang-xiaosen" and d["due"].startswith("2026-11-28T04:00") for d in data)

        # a late acknowledgement stops the response clock; the resolution clock keeps running
        await client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={})
        clock.set(clock.now().replace(day=29, hour=2, minute=1))  # resolution due 29th 02:00
        assert tick(ctx, clock.now()) == 1
        assert tick(ctx, clock.advance(timedelta(hours=23))) == 0
        assert tick(ctx, clock.advance(timedelta(hours=1, minutes=1))) == 1  # 48 h past creation: level 2
        events = await overdue(settings, 4)
        resolution = [e["data"] for e in events if e["type"].endswith("TicketResolutionOverdue.v1")]
        assert [(d["level"], d["escalated_to"]) for d in resolution] == [(1, "staff:wang-jianguo"), (2, "staff:li-yao")]
        history = [h["action"] for h in (await client.get(f"{T}/{tid}", headers=STAFF)).json()["history"]]
        assert history.count("escalate_response") == 2 and history.count("escalate_resolution") == 2


async def test_a_ticket_answered_in_time_is_never_escalated(start_runtime, clock, settings):
    async with start_runtime(["tickets"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["tickets"]
        tid = (await report(client))["id"]
        clock.advance(timedelta(hours=1))
        await client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={})
        await client.post(f"{T}/{tid}/resolve", headers=STAFF, json={"note": "已修"})
        assert tick(ctx, clock.advance(timedelta(days=3))) == 0
        assert await published(settings, type_suffix="TicketResponseOverdue") == []


async def test_two_replicas_escalate_each_ticket_exactly_once_and_survive_a_restart(
    start_runtime, clock, settings, pg_database, monkeypatch
):
    monkeypatch.setenv("TICKETS_DATABASE_URL", pg_database("tickets"))
    async with start_runtime(["tickets"], clock=clock) as (rt1, client):
        await client.put("/api/tickets/categories/manhole", headers=STAFF, json=CONTACTS)
        ids = [(await report(client))["id"] for _ in range(4)]
        async with start_runtime(["tickets"], clock=clock, consumer_name="c2") as (rt2, _client2):
            c1, c2 = rt1.contexts["tickets"], rt2.contexts["tickets"]
            now = clock.advance(timedelta(hours=2, minutes=5))  # level 1 due for all four
            fired = await asyncio.gather(*[asyncio.to_thread(tick, c, now) for c in (c1, c2, c1, c2)])
            assert sum(fired) == 4
            now = clock.advance(timedelta(hours=2))  # second breach for all four
            fired = await asyncio.gather(*[asyncio.to_thread(tick, c, now) for c in (c2, c1, c2, c1)])
            assert sum(fired) == 4
    # a restart (new runtime on the same database) neither repeats nor loses an escalation
    async with start_runtime(["tickets"], clock=clock) as (rt3, _client3):
        assert tick(rt3.contexts["tickets"], clock.advance(timedelta(minutes=10))) == 0
        events = await overdue(settings, 8)
        pairs = sorted((e["data"]["ticket_id"], e["data"]["level"]) for e in events)
        assert pairs == sorted((tid, level) for tid in ids for level in (1, 2))


async def test_resolved_tickets_auto_close_after_7_days_without_an_answer(start_runtime, clock, settings):
    async with start_runtime(["tickets"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["tickets"]
        tid = (await report(client))["id"]
        await client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={})
        await client.post(f"{T}/{tid}/resolve", headers=STAFF, json={"note": "已修"})
        tick(ctx, clock.advance(timedelta(days=6, hours=23)))
        assert (await client.get(f"{T}/{tid}", headers=RESIDENT)).json()["status"] == "resolved"
        assert tick(ctx, clock.advance(timedelta(hours=2))) == 1
        assert tick(ctx, clock.now()) == 0
        view = (await client.get(f"{T}/{tid}", headers=RESIDENT)).json()
        assert view["status"] == "closed" and view["close_reason"] == "auto_closed"
        closed = await eventually(lambda: published(settings, type_suffix="TicketClosed"))
        assert (
            closed[0]["data"]["reason"] == "auto_closed" and closed[0]["data"]["reporter"] == "resident:zhang-xiaosen"
        )
        assert (await client.post(f"{T}/{tid}/rate", headers=RESIDENT, json={"rating": 3})).status_code == 409


async def test_the_auto_close_window_is_configurable(start_runtime, clock, monkeypatch):
    monkeypatch.setenv("TICKETS_AUTO_CLOSE_DAYS", "2")
    async with start_runtime(["tickets"], clock=clock) as (runtime, client):
        tid = (await report(client))["id"]
        await client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={})
        await client.post(f"{T}/{tid}/resolve", headers=STAFF, json={"note": "已修"})
        assert tick(runtime.contexts["tickets"], clock.advance(timedelta(days=2, minutes=1))) == 1
        assert (await client.get(f"{T}/{tid}", headers=RESIDENT)).json()["close_reason"] == "auto_closed"
