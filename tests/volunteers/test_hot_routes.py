"""The two routes of issue #22 (a volunteer's elders, a visit log), read and written with Core statements
since the eleventh session (through the sqlite3 driver on SQLite): what each caller sees and what a log
stores and publishes, on both stores."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import eventually, token
from tests.volunteers.helpers import API, LEADER, LIU, STAFF, WANG, ok, pair, published, register, setup_team

GAS = {"category": "gas", "description": "燃气软管老化开裂", "location": "厨房"}
SUMMARY = {"id", "name", "community", "estate", "building", "unit", "floor", "tier", "lives_alone", "team_id"}


async def listed(client, who, **params) -> list[str]:
    """Every elder's name the list shows ``who``, paging one at a time (each page once, in order)."""
    names, cursor = [], None
    while True:
        query = {"limit": 1, **params} | ({"cursor": cursor} if cursor else {})
        page = await ok(await client.get(f"{API}/elders", headers=who, params=query))
        assert all(set(item) == SUMMARY for item in page["items"])  # no health data, no contacts
        names += [item["name"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return names


async def test_each_caller_lists_the_elders_in_reach_in_building_and_unit_order(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        ids = await setup_team(client)
        elders = {}
        for name, tier, building, unit in (
            ("郝连芳", "key", "3", "2"),
            ("李大爷", "high_risk", "5", "1"),
            ("赵奶奶", "general", "1", "1"),
            ("陈奶奶", "general", "3", "1"),
        ):
            elders[name] = await register(client, name, tier=tier, building=building, unit=unit)
        await pair(client, elders["李大爷"]["id"], ids["wang"])
        await pair(client, elders["郝连芳"]["id"], ids["wang"])
        await pair(client, elders["赵奶奶"]["id"], ids["liu"])

        everyone = ["赵奶奶", "陈奶奶", "郝连芳", "李大爷"]  # building 1, 3 (unit 1, 2), 5
        assert await listed(client, WANG) == ["郝连芳", "李大爷"]
        assert await listed(client, WANG, community="3502") == ["郝连芳", "李大爷"]
        assert await listed(client, WANG, building="5") == ["李大爷"]
        assert await listed(client, WANG, tier="general") == []
        assert await listed(client, LIU) == ["赵奶奶"]
        assert await listed(client, token("volunteer:nobody", "volunteer")) == []
        assert await listed(client, STAFF) == everyone
        assert await listed(client, token("staff:x", "staff", communities=["3502"]), tier="general") == [
            "赵奶奶",
            "陈奶奶",
        ]
        assert await listed(client, token("staff:y", "staff", communities=["9999"])) == []
        assert await listed(client, LEADER) == everyone  # the team's elders (all registered into it)

        # an ended pairing takes her out of the volunteer's list at once
        pairing = (await ok(await client.get(f"{API}/elders/{elders['李大爷']['id']}", headers=STAFF)))["volunteers"]
        r = await client.post(f"{API}/pairings/{pairing[0]['pairing_id']}/end", headers=LEADER, json={"reason": "搬家"})
        await ok(r)
        assert await listed(client, WANG) == ["郝连芳"]


async def test_a_log_answers_the_visit_as_it_is_stored_and_publishes_no_health_data(start_runtime, clock, settings):
    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        ids = await setup_team(client)
        elder = await register(client, "郝连芳", tier="key")
        await pair(client, elder["id"], ids["wang"])
        planned = elder["upcoming_visits"][0]
        clock.advance(timedelta(days=1))
        body = {"elder_id": elder["id"], "method": "door", "minutes": 45, "notes": "血压偏高，已提醒服药"}

        answers = []
        for i in range(6):  # the planned visits due within a week, then ad-hoc ones
            hazards = [{**GAS, "description": f"软管{i}"}, {"category": "electricity", "description": f"插座{i}"}]
            r = await client.post(f"{API}/logs", headers=WANG, json={**body, "hazards": hazards})
            answers.append(await ok(r, 201))
        assert answers[0]["id"] == planned["id"] and answers[0]["kind"] == "routine"
        assert answers[-1]["kind"] == "adhoc"
        for answer in answers:
            stored = await ok(await client.get(f"{API}/visits/{answer['id']}", headers=WANG))
            assert {k: v for k, v in answer.items() if k != "log_id"} == stored  # as GET shows it, notes included
            assert answer["status"] == "done" and answer["done_at"] == answer["logs"][0]["visited_at"]
            assert [log["id"] for log in answer["logs"]] == [answer["log_id"]]
            assert answer["logs"][0]["notes"] == "血压偏高，已提醒服药" and answer["logs"][0]["history"] == []
            assert sorted(h["category"] for h in answer["hazards"]) == ["electricity", "gas"]
            assert all(h["status"] == "open" and h["ticket_id"] is None for h in answer["hazards"])
        # only the author and those who may see her health data see the log's notes
        r = await client.get(f"{API}/visits/{answers[-1]['id']}", headers=LIU)
        assert r.status_code == 404 and "血压" not in r.text

        bank = await ok(await client.get(f"{API}/volunteers/{ids['wang']}/timebank", headers=WANG))
        assert bank["balance_hours"] == 4.5 and [e["kind"] for e in bank["entries"]] == ["visit"] * 6

        events = await eventually(lambda: len(published(settings, "VisitHazardFound")) == 12 and published(settings))
        done = [e for e in events if e["type"].endswith(".VisitCompleted.v1")]
        assert [e["data"]["visit_id"] for e in done] == [a["id"] for a in answers]
        found = [e for e in events if e["type"].endswith(".VisitHazardFound.v1")]
        assert sorted(e["data"]["hazard_id"] for e in found) == sorted(h["id"] for a in answers for h in a["hazards"])
        assert all(e["data"]["address"].startswith("3502 3号楼 2单元") for e in found)
        assert "血压" not in str(events) and "高血压" not in str(events)  # neither the log's nor her health notes

        # a visit already logged stays logged, and nobody logs for an elder outside their reach
        r = await client.post(f"{API}/logs", headers=WANG, json={**body, "visit_id": planned["id"]})
        assert r.status_code == 409
        r = await client.post(f"{API}/logs", headers=LIU, json=body)
        assert r.status_code == 404 and "郝连芳" not in r.text
