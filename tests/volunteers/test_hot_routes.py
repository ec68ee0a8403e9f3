"""The two routes of issue #22 (a volunteer's elders, a visit log), read and written with Core statements
since the eleventh session (through the sqlite3 driver on SQLite): what each caller sees and what a log
stores and publishes, on both stores."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import eventually, token
from tests.volunteers.helpers import (
    API,
    LEADER,
    LIU,
    OTHER_LEADER,
    STAFF,
    WANG,
    ok,
    pair,
    published,
    register,
    setup_team,
)

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


async def test_the_list_shows_each_caller_exactly_the_elders_they_may_open(start_runtime, clock):
    """Since the twelfth session the list reads the caller's reach inside its one SELECT (the teams led, the
    pairings of the caller and of a led team's volunteers): whoever asks, it holds the elders whose record
    answers them (200), each once, in building and unit order, and no other."""
    from tests.volunteers.test_scope import BZY, MA, STAFF_3502, STAFF_BZY, two_communities

    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        ids = await two_communities(client)
        team = {"name": "第二敲门队", "community": "3502", "leader": None, "staff_contact": None}
        await ok(await client.put(f"{API}/teams/axqm2-3502", headers=STAFF, json=team))
        chen = await register(client, "陈奶奶", building="5", team_id="axqm2-3502")
        await pair(client, chen["id"], ids["wang"])  # another team's elder: 张秀芹 leads her visitor
        zhao = await register(client, "赵奶奶", building="1", unit="1")
        pairing = await pair(client, zhao["id"], ids["liu"])
        await ok(await client.post(f"{API}/pairings/{pairing['id']}/end", headers=LEADER, json={"reason": "搬家"}))

        everyone = await listed(client, STAFF)
        assert sorted(everyone) == sorted(["郝连芳", "李大爷", "陈奶奶", "赵奶奶"])
        visiting_staff = token("volunteer:wang-guilan", "staff", "volunteer", communities=[BZY])
        by_name = {e["name"]: e["id"] for e in (await ok(await client.get(f"{API}/elders", headers=STAFF)))["items"]}
        callers = {
            "王桂兰": WANG,
            "刘淑芬 (her pairing ended)": LIU,
            "马红": MA,
            "张秀芹 (leader by the registry)": LEADER,
            "孙丽": OTHER_LEADER,
            "a deputy (leader by the token)": token("volunteer:deputy", "team_leader", team="bzy"),
            "a leader of no team": token("volunteer:nobody", "volunteer", "team_leader", team="none"),
            "staff of 3502": STAFF_3502,
            "staff of 北翟营": STAFF_BZY,
            "staff of 北翟营 who visits for 3502": visiting_staff,
            "a volunteer with no record": token("volunteer:nobody", "volunteer"),
        }
        for label, who in callers.items():
            opened = [
                name
                for name in everyone
                if (await client.get(f"{API}/elders/{by_name[name]}", headers=who)).status_code == 200
            ]
            assert await listed(client, who) == opened, label
            in_3502 = [name for name in opened if name != "李大爷"]
            assert await listed(client, who, community="3502") == in_3502, label
        assert await listed(client, LEADER) == ["赵奶奶", "郝连芳", "陈奶奶"]  # her team's two, and 陈奶奶
        assert await listed(client, visiting_staff) == ["郝连芳", "陈奶奶", "李大爷"]


async def test_a_weekly_cap_change_stores_what_it_answers_and_keeps_its_etag_semantics(start_runtime, clock):
    """The PATCH of a volunteer writes one Core UPDATE since the twelfth session: its answer is the stored
    volunteer, its ETag the one a GET then answers, a stale or weak ``If-Match`` changes nothing, ``*`` and
    no header go through, and a full phone shown is logged (the change's purpose)."""
    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        ids = await setup_team(client)
        url = f"{API}/volunteers/{ids['wang']}"
        seen = await client.get(url, headers=STAFF)
        tag = seen.headers["ETag"]

        r = await client.patch(url, headers={**STAFF, "If-Match": tag}, json={"weekly_cap": 5, "skills": ["chat"] * 2})
        changed = await ok(r)
        assert changed == seen.json() | {"weekly_cap": 5, "skills": ["chat"]}
        again = await client.get(url, headers=STAFF)
        assert again.json() == changed and again.headers["ETag"] == r.headers["ETag"] != tag

        for stale in (tag, f"W/{r.headers['ETag']}"):
            refused = await client.patch(url, headers={**STAFF, "If-Match": stale}, json={"weekly_cap": 9})
            assert refused.status_code == 412 and refused.json()["code"] == "precondition_failed"
        assert (await ok(await client.get(url, headers=STAFF)))["weekly_cap"] == 5

        r = await client.patch(url, headers={**LEADER, "If-Match": "*"}, json={"active": False, "availability": [1]})
        assert (await ok(r))["active"] is False and (await ok(r))["availability"] == [1]
        r = await client.patch(url, headers=LEADER, json={"phone": "13900009999"})
        assert (await ok(r))["phone"] == "13900009999"
        assert (await client.get(url, headers=LEADER)).headers["ETag"] == r.headers["ETag"]
        assert (await ok(await client.get(url, headers=WANG)))["phone"] == "13900009999"  # her own
        assert (await ok(await client.get(url, headers=LIU)))["phone"] == "139****9999"  # a team mate: masked

        r = await client.patch(f"{API}/volunteers/VOL-nobody", headers={**STAFF, "If-Match": "*"}, json={})
        assert r.status_code == 404
        other = token("staff:y", "staff", communities=["9999"])
        r = await client.patch(url, headers={**other, "If-Match": tag}, json={"weekly_cap": 2})
        assert r.status_code == 404  # not a 412: a stale tag does not tell a stranger she exists

        log = await ok(await client.get(f"{API}/access-log", headers=STAFF, params={"subject_id": ids["wang"]}))
        patches = [e for e in log["items"] if e["purpose"].startswith("PATCH")]
        assert [(e["actor"], e["fields"]) for e in patches] == [
            ("volunteer:zhang-xiuqin", ["phone"]),
            ("volunteer:zhang-xiuqin", ["phone"]),
            ("staff:li-yao", ["phone"]),
        ]
