"""The periodic job: VisitDue exactly once (two replicas, a restart), misses escalating twice, campaigns,
weekly digests. Time moves with a ManualClock; ``tick`` is called directly."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlmodel import Session

from services.volunteers.jobs import tick
from tests.conftest import eventually
from tests.volunteers.helpers import (
    API,
    LEADER,
    LIU,
    STAFF,
    WANG,
    ok,
    pair,
    paired_elder,
    published,
    register,
    setup_team,
)


def outbox_empty(runtime) -> bool:
    ctx = runtime.contexts["volunteers"]
    with Session(ctx.store.engine) as session:
        return ctx.module.outbox.pending_count(session)[0] == 0


def misses(settings, at_least: int) -> list[dict]:
    found = published(settings, "VisitMissed")
    return found if len(found) >= at_least else []


def due_per_visit(settings) -> Counter:
    return Counter(e["data"]["visit_id"] for e in published(settings, "VisitDue"))


async def test_visit_due_once_per_occurrence_with_two_replicas(start_runtime, clock, settings):
    """Two runtimes on the same store (a PostgreSQL database, or one SQLite file) tick at the same time."""
    async with (
        start_runtime(["volunteers"], clock=clock) as (one, client),
        start_runtime(["volunteers"], clock=clock, consumer_name="c2") as (two, _client2),
    ):
        ids = await setup_team(client)
        elders = [await register(client, name, tier="high_risk") for name in ("李大爷", "陈奶奶", "郝连芳")]
        await pair(client, elders[0]["id"], ids["wang"])
        clock.advance(timedelta(days=15))  # 2026-12-13 10:00 Shanghai: Nov 29, Dec 6, Dec 13 are due
        for _ in range(3):
            await asyncio.gather(
                asyncio.to_thread(tick, one.contexts["volunteers"], clock.now()),
                asyncio.to_thread(tick, two.contexts["volunteers"], clock.now()),
            )
        await eventually(lambda: outbox_empty(one) and len(due_per_visit(settings)) == 9)
        counts = due_per_visit(settings)
        assert sorted(counts.values()) == [1] * 9
        first = next(
            e["data"]
            for e in published(settings, "VisitDue")
            if e["data"]["visit_id"] == f"V-{elders[0]['id']}-202611290100"
        )
        assert first["volunteer_users"] == ["volunteer:wang-guilan"]
        assert first["team_leader"] == "volunteer:zhang-xiuqin"
        assert first["address"] == "3502 3号楼 2单元 1层" and first["elder_name"] == "李大爷"
        assert "safety_gas" in first["checklist"] and "conditions" not in first
        missed = Counter((e["data"]["visit_id"], e["data"]["miss_count"]) for e in published(settings, "VisitMissed"))
        assert missed and set(missed.values()) == {1}
        scheduled = Counter(e["data"]["visit_id"] for e in published(settings, "VisitScheduled"))
        assert set(scheduled.values()) == {1}


async def test_no_visit_due_lost_or_doubled_across_a_restart(start_runtime, clock, settings):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        await setup_team(client)
        elder = await register(client, "李大爷", tier="high_risk")
        clock.advance(timedelta(days=1))  # the Nov 29 visit is due
        assert tick(runtime.contexts["volunteers"], clock.now()) >= 1
        await eventually(lambda: outbox_empty(runtime))
    assert list(due_per_visit(settings)) == [f"V-{elder['id']}-202611290100"]

    clock.advance(timedelta(days=14))  # down for two weeks: Dec 6 and Dec 13 came due meanwhile
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        tick(runtime.contexts["volunteers"], clock.now())
        tick(runtime.contexts["volunteers"], clock.now())
        await eventually(lambda: outbox_empty(runtime) and len(due_per_visit(settings)) == 3)
        visits = (await ok(await client.get(f"{API}/elders/{elder['id']}/visits", headers=STAFF)))["items"]
        announced = sorted(v["due_at"][:10] for v in visits if v["announced_at"])
        assert announced == ["2026-11-29", "2026-12-06", "2026-12-13"]
    assert sorted(due_per_visit(settings).values()) == [1, 1, 1]


async def test_missed_visit_goes_to_the_team_leader_then_escalates_to_staff(start_runtime, clock, settings):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["volunteers"]
        _ids, elder = await paired_elder(client, "郝连芳", tier="key")  # grace 2 days
        visit_id = elder["upcoming_visits"][0]["id"]
        clock.advance(timedelta(days=1))  # due Nov 29 09:00
        tick(ctx, clock.now())
        clock.advance(timedelta(days=1, hours=22))  # not yet 2 days late
        tick(ctx, clock.now())
        assert (await ok(await client.get(f"{API}/visits/{visit_id}", headers=STAFF)))["status"] == "scheduled"

        clock.advance(timedelta(hours=2))  # 2 days late: first miss, to the team leader
        tick(ctx, clock.now())
        tick(ctx, clock.now())
        first = await eventually(lambda: published(settings, "VisitMissed"))
        assert len(first) == 1
        assert first[0]["data"]["visit_id"] == visit_id and first[0]["data"]["miss_count"] == 1
        assert first[0]["data"]["team_leader"] == "volunteer:zhang-xiuqin"
        assert first[0]["data"]["escalated_to"] is None
        assert first[0]["data"]["volunteer_users"] == ["volunteer:wang-guilan"]

        clock.advance(timedelta(days=2))  # still nobody went: second miss, escalated to staff
        tick(ctx, clock.now())
        tick(ctx, clock.now())
        both = await eventually(lambda: misses(settings, 2))
        assert both[1]["data"]["miss_count"] == 2 and both[1]["data"]["escalated_to"] == "staff:li-yao"
        visit = await ok(await client.get(f"{API}/visits/{visit_id}", headers=LEADER))
        assert visit["status"] == "missed" and visit["escalated_at"] is not None

        # a late visit closes it: no further alerts
        r = await client.post(
            f"{API}/logs",
            headers=WANG,
            json={"elder_id": elder["id"], "visit_id": visit_id, "method": "door", "minutes": 30},
        )
        assert (await ok(r, 201))["status"] == "done"
        clock.advance(timedelta(days=5))
        tick(ctx, clock.now())
        await eventually(lambda: outbox_empty(runtime))
        assert len(published(settings, "VisitMissed")) == 2

        report = await ok(
            await client.get(f"{API}/reports/coverage", headers=STAFF, params={"community": "3502", "month": "2026-11"})
        )
        assert report["buildings"] == [
            {
                "building": "3",
                "elders": 1,
                "due": 1,
                "done": 1,
                "missed": 0,
                "elders_visited": 1,
                "visit_rate": 1.0,
                "elder_coverage": 1.0,
            }
        ]


async def test_high_risk_grace_is_24_hours_and_a_second_miss_in_a_row_escalates(start_runtime, clock, settings):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["volunteers"]
        await setup_team(client)
        elder = await register(client, "李大爷", tier="high_risk", building="5", unit="1")
        clock.advance(timedelta(days=2))  # Nov 30 10:00: 25 h after the Nov 29 visit
        tick(ctx, clock.now())
        first = await eventually(lambda: published(settings, "VisitMissed"))
        assert first[0]["data"]["critical"] is True and first[0]["data"]["miss_count"] == 1
        clock.advance(timedelta(days=7))  # the Dec 6 visit is missed too: escalated at once
        tick(ctx, clock.now())
        found = await eventually(lambda: misses(settings, 3))
        dec6 = [e["data"] for e in found if e["data"]["visit_id"] == f"V-{elder['id']}-202612060100"]
        assert len(dec6) == 1 and dec6[0]["miss_count"] == 2 and dec6[0]["escalated_to"] == "staff:li-yao"

        report = await ok(
            await client.get(
                f"{API}/reports/coverage", headers=LEADER, params={"community": "3502", "month": "2026-12"}
            )
        )
        row = report["buildings"][0]
        assert (row["building"], row["missed"], row["done"], row["visit_rate"]) == ("5", 1, 0, 0.0)
        assert row["due"] == 4  # Dec 6, 13, 20, 27
        assert (
            await client.get(f"{API}/reports/coverage", headers=WANG, params={"community": "3502", "month": "2026-12"})
        ).status_code == 403


async def test_campaign_schedules_extra_visits_and_skips_paused_elders(start_runtime, clock, settings):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["volunteers"]
        ids = await setup_team(client)
        a = await register(client, "郝连芳", tier="key")
        b = await register(client, "李大爷", tier="high_risk")
        c = await register(client, "陈奶奶", tier="general")
        await pair(client, a["id"], ids["wang"])
        await ok(
            await client.post(
                f"{API}/elders/{b['id']}/pauses",
                headers=LEADER,
                json={"starts_at": "2026-12-20T00:00:00", "ends_at": "2027-01-10T00:00:00", "reason": "去女儿家过冬"},
            ),
            201,
        )
        body = {
            "name": "寒潮慰问 cold snap",
            "due_at": "2026-12-24T15:00:00",
            "community": "3502",
            "tiers": ["high_risk", "key"],
        }
        assert (await client.post(f"{API}/campaigns", headers=WANG, json=body)).status_code == 403
        assert (
            await client.post(f"{API}/campaigns", headers=LEADER, json=body | {"due_at": "2026-11-01T09:00:00"})
        ).status_code == 422
        campaign = await ok(await client.post(f"{API}/campaigns", headers=LEADER, json=body), 201)
        assert campaign["scheduled"] == [a["id"]] and campaign["skipped_paused"] == [b["id"]]
        assert campaign["due_at"] == "2026-12-24T15:00:00+08:00"
        assert c["id"] not in campaign["scheduled"]

        clock.set(clock.now().replace(year=2026, month=12, day=24, hour=7, minute=5))  # 15:05 Shanghai
        tick(ctx, clock.now())
        due = await eventually(
            lambda: [e["data"] for e in published(settings, "VisitDue") if e["data"]["campaign_id"] == campaign["id"]]
        )
        assert len(due) == 1 and due[0]["elder_id"] == a["id"] and due[0]["kind"] == "campaign"
        assert due[0]["volunteer_users"] == ["volunteer:wang-guilan"]
        sched = await eventually(lambda: published(settings, "CampaignScheduled"))
        assert sched[0]["data"]["elder_count"] == 2
        # the paused elder got no routine visit during the pause either
        visits = (await ok(await client.get(f"{API}/elders/{b['id']}/visits", headers=STAFF)))["items"]
        assert not [v for v in visits if "2026-12-20" <= v["due_at"][:10] < "2027-01-10"]


async def test_weekly_digest_once_per_team_and_week(start_runtime, clock, settings):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["volunteers"]
        _ids, elder = await paired_elder(client, "郝连芳", tier="high_risk")
        clock.advance(timedelta(days=2))  # Mon Nov 30 10:00 Shanghai: the week Nov 23-29 is reported
        await ok(
            await client.post(
                f"{API}/logs", headers=WANG, json={"elder_id": elder["id"], "method": "door", "minutes": 60}
            ),
            201,
        )
        clock.advance(timedelta(days=7))  # Mon Dec 7: the week Nov 30 - Dec 6
        tick(ctx, clock.now())
        tick(ctx, clock.now())
        digests = await eventually(lambda: published(settings, "VolunteerDigestReady"))
        assert len(digests) == 1
        d = digests[0]["data"]
        assert d["team_leader"] == "volunteer:zhang-xiuqin" and d["week_start"].startswith("2026-11-29T16:00")
        assert (d["visits_due"], d["visits_done"], d["visits_missed"]) == (1, 0, 1)
        clock.advance(timedelta(days=7))
        tick(ctx, clock.now())
        await eventually(lambda: len(published(settings, "VolunteerDigestReady")) == 2)


async def test_a_log_closes_the_due_visit_and_an_early_log_is_never_announced(start_runtime, clock, settings):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["volunteers"]
        _ids, elder = await paired_elder(client, "李大爷", tier="high_risk")
        log = {"elder_id": elder["id"], "method": "door", "minutes": 30}
        early = await ok(await client.post(f"{API}/logs", headers=WANG, json=log), 201)  # Sat, before Sun's visit
        assert early["id"] == f"V-{elder['id']}-202611290100"
        clock.advance(timedelta(days=8, hours=1))  # Sun Dec 6 11:00: the Dec 6 visit is due
        tick(ctx, clock.now())
        dec6 = f"V-{elder['id']}-202612060100"
        assert list(await eventually(lambda: due_per_visit(settings))) == [dec6]
        todo = (await ok(await client.get(f"{API}/my/visits", headers=WANG)))["items"]
        assert [(t["visit_id"], t["overdue"]) for t in todo] == [(dec6, True), (f"V-{elder['id']}-202612130100", False)]
        assert todo[0]["address"] == "3502 3号楼 2单元 1层" and "conditions" not in todo[0]["elder"]
        assert (await ok(await client.get(f"{API}/my/visits", headers=LIU)))["items"] == []
        assert (await client.get(f"{API}/my/visits", headers=STAFF)).status_code == 403
        later = await ok(await client.post(f"{API}/logs", headers=WANG, json=log), 201)
        assert later["id"] == dec6 and later["status"] == "done"
        clock.advance(timedelta(days=2))
        tick(ctx, clock.now())
        await eventually(lambda: outbox_empty(runtime))
        assert published(settings, "VisitMissed") == []


async def test_a_hospital_stay_calls_off_an_announced_visit(start_runtime, clock, settings):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["volunteers"]
        await setup_team(client)
        elder = await register(client, "郝连芳", tier="key")
        visit_id = elder["upcoming_visits"][0]["id"]
        clock.advance(timedelta(days=1))
        tick(ctx, clock.now())
        assert list(await eventually(lambda: due_per_visit(settings))) == [visit_id]
        await ok(
            await client.post(
                f"{API}/elders/{elder['id']}/pauses",
                headers=LEADER,
                json={
                    "starts_at": "2026-11-29T00:00:00",
                    "ends_at": "2026-12-10T00:00:00",
                    "reason": "住院 / hospital",
                },
            ),
            201,
        )
        clock.advance(timedelta(days=5))
        tick(ctx, clock.now())
        await eventually(lambda: outbox_empty(runtime))
        assert published(settings, "VisitMissed") == []
        assert (await ok(await client.get(f"{API}/visits/{visit_id}", headers=STAFF)))["status"] == "cancelled"
        report = await ok(
            await client.get(f"{API}/reports/coverage", headers=STAFF, params={"community": "3502", "month": "2026-11"})
        )
        assert report["total"]["due"] == 0 and report["total"]["visit_rate"] is None
