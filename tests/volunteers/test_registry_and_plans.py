"""Registry, pairing, RRULE plans per tier, a tier change re-planning, pauses, and health-data visibility."""

from __future__ import annotations

from datetime import timedelta

from services.volunteers.jobs import tick
from tests.conftest import eventually
from tests.volunteers.helpers import (
    API,
    LEADER,
    LIU,
    OTHER_LEADER,
    RESIDENT,
    STAFF,
    WANG,
    add_volunteer,
    ok,
    pair,
    paired_elder,
    published,
    register,
    setup_team,
)


async def test_plans_follow_the_tier_rrule(start_runtime, clock, settings):
    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        await setup_team(client)
        high = await register(client, "李大爷", tier="high_risk")
        key = await register(client, "郝连芳", tier="key")
        general = await register(client, "陈奶奶", tier="general")
        # 2026-11-28 10:00 Shanghai: first visits at the next 09:00 (within 24 h), then per the rule
        assert high["plan"]["rrule"] == "FREQ=WEEKLY"
        assert key["plan"]["rrule"] == "FREQ=MONTHLY"
        assert general["plan"]["rrule"] == "FREQ=MONTHLY;INTERVAL=3"
        assert [v["due_at"] for v in high["upcoming_visits"]] == [
            "2026-11-29T09:00:00+08:00",
            "2026-12-06T09:00:00+08:00",
            "2026-12-13T09:00:00+08:00",
            "2026-12-20T09:00:00+08:00",
            "2026-12-27T09:00:00+08:00",
        ]
        assert [v["due_at"] for v in key["upcoming_visits"]] == [
            "2026-11-29T09:00:00+08:00",
            "2026-12-29T09:00:00+08:00",
        ]
        assert [v["due_at"] for v in general["upcoming_visits"]] == ["2026-11-29T09:00:00+08:00"]
        assert high["plan"]["grace_hours"] == 24 and key["plan"]["grace_hours"] == 48

        # a month later the plans have been extended by the job, quarterly reaches its next visit in 3 months
        clock.advance(timedelta(days=70))
        tick(_rt.contexts["volunteers"], clock.now())
        later = await ok(await client.get(f"{API}/elders/{general['id']}", headers=STAFF))
        assert later["upcoming_visits"][0]["due_at"] == "2027-02-28T09:00:00+08:00"

        # a custom plan per elder: Mondays and Thursdays; a plan rarer than quarterly is refused
        custom = await ok(
            await client.put(
                f"{API}/elders/{key['id']}/plan", headers=LEADER, json={"rrule": "FREQ=WEEKLY;BYDAY=MO,TH"}
            )
        )
        days = [v["due_at"][:10] for v in custom["upcoming_visits"][:3]]
        assert days == ["2027-02-08", "2027-02-11", "2027-02-15"]
        r = await client.put(f"{API}/elders/{key['id']}/plan", headers=LEADER, json={"rrule": "FREQ=YEARLY"})
        assert r.status_code == 422 and "季度" in r.json()["detail"]
        r = await client.put(f"{API}/elders/{key['id']}/plan", headers=LEADER, json={"rrule": "FREQ=SOMETIMES"})
        assert r.status_code == 422
        r = await client.put(f"{API}/elders/{key['id']}/plan", headers=WANG, json={"rrule": "FREQ=WEEKLY"})
        assert r.status_code == 403


async def test_tier_change_replans_and_pause_skips_visits(start_runtime, clock, settings):
    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        await setup_team(client)
        elder = await register(client, "郝连芳", tier="general")
        clock.advance(timedelta(days=3))  # 2026-12-01 10:00 Shanghai
        r = await client.post(
            f"{API}/elders/{elder['id']}/tier",
            headers=LEADER,
            json={"tier": "high_risk", "reason": "跌倒后独居 / fell, lives alone"},
        )
        changed = await ok(r)
        assert changed["tier"] == "high_risk" and changed["plan"]["rrule"] == "FREQ=WEEKLY"
        assert changed["tier_changed_at"].startswith("2026-12-01T10:00")
        # the first visit of the new plan is within 24 hours of the change
        assert changed["upcoming_visits"][0]["due_at"] == "2026-12-02T09:00:00+08:00"
        assert len(changed["upcoming_visits"]) == 5
        tiers = await eventually(lambda: published(settings, "ElderTierChanged"))
        assert tiers[0]["data"]["from_tier"] == "general" and tiers[0]["data"]["to_tier"] == "high_risk"
        assert "conditions" not in tiers[0]["data"]

        # a hospital stay pauses the plan: no visit is due inside it
        r = await client.post(
            f"{API}/elders/{elder['id']}/pauses",
            headers=LEADER,
            json={"starts_at": "2026-12-05T00:00:00", "ends_at": "2026-12-20T00:00:00", "reason": "住院 / hospital"},
        )
        paused = await ok(r, 201)
        assert [v["due_at"][:10] for v in paused["upcoming_visits"]] == ["2026-12-02", "2026-12-23", "2026-12-30"]
        r = await client.post(f"{API}/elders/{elder['id']}/tier", headers=WANG, json={"tier": "key", "reason": "x"})
        assert r.status_code == 403
        r = await client.post(
            f"{API}/elders/{elder['id']}/tier", headers=LEADER, json={"tier": "high_risk", "reason": "again"}
        )
        assert r.status_code == 409


async def test_health_data_is_only_for_paired_volunteers_the_team_leader_and_staff(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        _ids, elder = await paired_elder(client, "郝连芳", tier="key")
        url = f"{API}/elders/{elder['id']}"
        for who in (WANG, LEADER, STAFF):  # paired volunteer, team leader, staff
            body = await ok(await client.get(url, headers=who))
            assert body["conditions"] == "高血压，膝关节炎" and body["notes"] == "子女在外地"
            assert body["emergency_contact"]["phone"] == "13611112222"
            health = await ok(await client.get(f"{url}/health", headers=who))
            assert health["conditions"] == "高血压，膝关节炎"
        # an unpaired volunteer and another team's leader do not reach the elder at all
        for who in (LIU, OTHER_LEADER):
            for path in ("", "/health", "/pairings", "/visits"):
                r = await client.get(f"{url}{path}", headers=who)
                assert r.status_code == 404 and "13611112222" not in r.text and "高血压" not in r.text
        # residents and anonymous callers get nothing
        assert (await client.get(url, headers=RESIDENT)).status_code == 403
        assert (await client.get(url)).status_code == 401
        # ending the pairing ends the access
        pairing = (await ok(await client.get(f"{url}/pairings", headers=LEADER)))["items"][0]
        await ok(await client.post(f"{API}/pairings/{pairing['id']}/end", headers=LEADER, json={"reason": "搬家"}))
        assert (await client.get(f"{url}/health", headers=WANG)).status_code == 404
        history = (await ok(await client.get(f"{url}/pairings", headers=LEADER)))["items"]
        assert history[0]["end_reason"] == "搬家" and history[0]["ended_at"] is not None


async def test_registry_survey_pairing_rules_and_masked_phones(start_runtime, clock, settings):
    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        ids = await setup_team(client)
        a = await register(client, "郝连芳", building="3", unit="2")
        await register(client, "陈奶奶", building="3", unit="2", tier="general")
        await register(client, "李大爷", building="5", unit="1", tier="high_risk")
        await pair(client, a["id"], ids["wang"])
        r = await client.post(
            f"{API}/pairings", headers=LEADER, json={"elder_id": a["id"], "volunteer_id": ids["wang"]}
        )
        assert r.status_code == 409
        r = await client.post(f"{API}/pairings", headers=WANG, json={"elder_id": a["id"], "volunteer_id": ids["liu"]})
        assert r.status_code == 403
        # a volunteer's weekly cap bounds the visits her pairings ask for
        zhao = await add_volunteer(client, "赵美玲", "volunteer:zhao-meiling", weekly_cap=1)
        li = next(
            e for e in (await ok(await client.get(f"{API}/elders", headers=LEADER)))["items"] if e["name"] == "李大爷"
        )
        await pair(client, li["id"], zhao["id"])  # weekly: 1 visit a week
        r = await client.post(f"{API}/pairings", headers=LEADER, json={"elder_id": a["id"], "volunteer_id": zhao["id"]})
        assert r.status_code == 409 and "上限" in r.json()["detail"]
        assert (await ok(await client.get(f"{API}/volunteers/{zhao['id']}", headers=LEADER)))["weekly_load"] == 1.0
        survey = (await ok(await client.get(f"{API}/survey", headers=LEADER, params={"community": "3502"})))["items"]
        assert [(g["building"], g["unit"], g["paired"], g["unpaired"]) for g in survey] == [
            ("3", "2", 1, 1),
            ("5", "1", 1, 0),
        ]
        assert survey[1]["tiers"]["high_risk"] == 1
        assert (await client.get(f"{API}/survey", headers=WANG, params={"community": "3502"})).status_code == 403

        listed = (await ok(await client.get(f"{API}/volunteers", headers=WANG)))["items"]
        assert {v["phone"] for v in listed} == {"138****5678", "139****1111", "137****2222", None}
        mine = await ok(await client.get(f"{API}/volunteers/{ids['wang']}", headers=WANG))
        assert mine["phone"] == "13900001111"
        other = await ok(await client.get(f"{API}/volunteers/{ids['liu']}", headers=WANG))
        assert other["phone"] == "137****2222"
        by_leader = await ok(await client.get(f"{API}/volunteers/{ids['liu']}", headers=LEADER))
        assert by_leader["phone"] == "13700002222"
        r = await client.post(f"{API}/volunteers", headers=WANG, json={"name": "x", "community": "3502"})
        assert r.status_code == 403
        r = await client.put(f"{API}/teams/axqm-3502", headers=LEADER, json={"name": "x", "community": "3502"})
        assert r.status_code == 403  # only staff set up teams and their escalation contact
        assert (await client.get(f"{API}/teams", headers=RESIDENT)).status_code == 403
        r = await client.post(
            f"{API}/elders",
            headers=STAFF,
            json={"name": "x", "community": "3502", "building": "1", "unit": "1", "tier": "urgent"},
        )
        assert r.status_code == 422

        await eventually(lambda: published(settings, "VolunteerJoined") and published(settings, "PairingCreated"))
        raw = str(published(settings))
        for secret in ("13900001111", "13611112222", "高血压", "子女在外地"):
            assert secret not in raw
        pairing = published(settings, "PairingCreated")[0]["data"]
        assert pairing["volunteer_user"] == "volunteer:wang-guilan" and pairing["building"] == "3"
