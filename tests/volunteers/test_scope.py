"""Scope in the volunteers service (issue 15): each hole found on 60f56e5 has a test here.

Two communities: 3502 (team axqm-3502, leader 张秀芹, volunteers 王桂兰 and 刘淑芬) and 北翟营
(team bzy, leader 孙丽, volunteer 马红). Staff tokens serve one community each; the team leaders'
teams come from the registry (``Team.leader``).
"""

from __future__ import annotations

from tests.conftest import token
from tests.volunteers.helpers import (
    API,
    CONSENT_PURPOSE,
    LEADER,
    LIU,
    OTHER_LEADER,
    STAFF,
    WANG,
    ok,
    pair,
    register,
    setup_team,
)

BZY = "北翟营"
STAFF_3502 = token("staff:li-yao", "staff", name="李瑶", communities=["3502"])
STAFF_BZY = token("staff:chen-jing", "staff", name="陈静", communities=[BZY])
OPERATOR = token("operator:ops", "operator")
MA = token("volunteer:ma-hong", "volunteer", name="马红")


async def two_communities(client) -> dict:
    """3502 with an elder paired with 王桂兰, and 北翟营 with its own team, volunteer and elder."""
    ids = await setup_team(client)
    hao = await register(client, "郝连芳", tier="key")
    await pair(client, hao["id"], ids["wang"])
    await ok(
        await client.put(
            f"{API}/teams/bzy",
            headers=STAFF_BZY,
            json={"name": "北翟营敲门队", "community": BZY, "leader": "volunteer:sun-li", "staff_contact": None},
        )
    )
    ma = await ok(
        await client.post(
            f"{API}/volunteers",
            headers=OTHER_LEADER,
            json={"name": "马红", "community": BZY, "user_id": "volunteer:ma-hong", "phone": "13500003333"},
        ),
        201,
    )
    li = await ok(
        await client.post(
            f"{API}/elders",
            headers=STAFF_BZY,
            json={
                "name": "李大爷",
                "community": BZY,
                "building": "9",
                "unit": "4",
                "floor": 6,
                "lives_alone": True,
                "tier": "high_risk",
                "conditions": "糖尿病",
                "emergency_phone": "13622223333",
                "consent": {"given_by": "李大爷", "purpose": CONSENT_PURPOSE},
            },
        ),
        201,
    )
    return ids | {"hao": hao["id"], "ma": ma["id"], "li": li["id"]}


async def test_staff_reach_only_the_communities_they_serve(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        ids = await two_communities(client)
        # 北翟营 staff: none of 3502's elders, volunteers or teams, not even by asking for them
        listed = await ok(await client.get(f"{API}/elders", headers=STAFF_BZY))
        assert [e["id"] for e in listed["items"]] == [ids["li"]]
        asked = await ok(await client.get(f"{API}/elders", headers=STAFF_BZY, params={"community": "3502"}))
        assert asked["items"] == []
        r = await client.get(f"{API}/elders/{ids['hao']}", headers=STAFF_BZY)
        assert r.status_code == 404 and "郝连芳" not in r.text
        assert (await client.get(f"{API}/elders/{ids['hao']}/health", headers=STAFF_BZY)).status_code == 404
        volunteers = await ok(await client.get(f"{API}/volunteers", headers=STAFF_BZY))
        assert [v["id"] for v in volunteers["items"]] == [ids["ma"]]
        teams = await ok(await client.get(f"{API}/teams", headers=STAFF_BZY))
        assert [t["id"] for t in teams["items"]] == ["bzy"]
        r = await client.get(f"{API}/survey", headers=STAFF_BZY, params={"community": "3502"})
        assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
        r = await client.get(
            f"{API}/reports/coverage", headers=STAFF_BZY, params={"community": "3502", "month": "2026-11"}
        )
        assert r.status_code == 403
        # nor may they register an elder, change a team or a volunteer of 3502
        r = await client.post(
            f"{API}/elders",
            headers=STAFF_BZY,
            json={"name": "某某", "community": "3502", "building": "1", "unit": "1", "tier": "general"},
        )
        assert r.status_code == 403
        r = await client.put(
            f"{API}/teams/axqm-3502", headers=STAFF_BZY, json={"name": "x", "community": BZY, "leader": None}
        )
        assert r.status_code == 403
        r = await client.patch(f"{API}/volunteers/{ids['wang']}", headers=STAFF_BZY, json={"weekly_cap": 9})
        assert r.status_code == 404 and "13900001111" not in r.text
        # 3502's own staff do reach her
        assert (await ok(await client.get(f"{API}/elders/{ids['hao']}", headers=STAFF_3502)))["conditions"]


async def test_a_volunteer_lists_only_the_elders_paired_with_them(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        ids = await two_communities(client)
        await register(client, "陈奶奶", tier="general", building="7", unit="1")  # 3502, not paired
        mine = await ok(await client.get(f"{API}/elders", headers=WANG))
        assert [e["name"] for e in mine["items"]] == ["郝连芳"]
        # 刘淑芬 is paired with nobody: she sees no elder's floor, tier or lives_alone
        none = await ok(await client.get(f"{API}/elders", headers=LIU))
        assert none["items"] == []
        survey = await client.get(f"{API}/survey", headers=LIU, params={"community": "3502"})
        assert survey.status_code == 403
        # and no other community's elder either
        assert (await client.get(f"{API}/elders/{ids['li']}", headers=WANG)).status_code == 404


async def test_a_team_leader_cannot_act_on_another_team(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        ids = await two_communities(client)
        # 孙丽 (北翟营) changes 3502's 王桂兰: not found, and never her full phone
        r = await client.patch(f"{API}/volunteers/{ids['wang']}", headers=OTHER_LEADER, json={"weekly_cap": 9})
        assert r.status_code == 404 and "13900001111" not in r.text
        shown = await client.get(f"{API}/volunteers/{ids['wang']}", headers=OTHER_LEADER)
        assert shown.status_code == 404 and "13900001111" not in shown.text
        listed = await ok(await client.get(f"{API}/volunteers", headers=OTHER_LEADER))
        assert [v["id"] for v in listed["items"]] == [ids["ma"]]
        # her own team's volunteer: the full phone
        own = await ok(
            await client.patch(f"{API}/volunteers/{ids['ma']}", headers=OTHER_LEADER, json={"weekly_cap": 4})
        )
        assert own["phone"] == "13500003333" and own["weekly_cap"] == 4
        # 3502's leader may not pair 北翟营's elder with her own volunteer, nor read that elder's health
        r = await client.post(
            f"{API}/pairings", headers=LEADER, json={"elder_id": ids["li"], "volunteer_id": ids["wang"]}
        )
        assert r.status_code == 404
        r = await client.get(f"{API}/elders/{ids['li']}/health", headers=LEADER)
        assert r.status_code == 404 and "糖尿病" not in r.text and "13622223333" not in r.text
        # nor pair her own elder with another team's volunteer
        r = await client.post(
            f"{API}/pairings", headers=LEADER, json={"elder_id": ids["hao"], "volunteer_id": ids["ma"]}
        )
        assert r.status_code == 404
        # nor plan, pause or re-tier another team's elder
        r = await client.post(f"{API}/elders/{ids['li']}/tier", headers=LEADER, json={"tier": "general", "reason": "x"})
        assert r.status_code == 404
        # a leader registers volunteers only into her own team
        r = await client.post(
            f"{API}/volunteers", headers=OTHER_LEADER, json={"name": "某", "community": "3502", "user_id": "v:x"}
        )
        assert r.status_code == 403
        # 孙丽 pairs her volunteer with her community's elder
        await ok(
            await client.post(
                f"{API}/pairings", headers=OTHER_LEADER, json={"elder_id": ids["li"], "volunteer_id": ids["ma"]}
            ),
            201,
        )
        health = await ok(await client.get(f"{API}/elders/{ids['li']}/health", headers=MA))
        assert health["conditions"] == "糖尿病"


async def test_a_leader_named_in_the_token_reaches_that_team(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        ids = await two_communities(client)
        deputy = token("volunteer:deputy", "team_leader", team="bzy")
        listed = await ok(await client.get(f"{API}/elders", headers=deputy))
        assert [e["id"] for e in listed["items"]] == [ids["li"]]
        assert (await client.get(f"{API}/elders/{ids['hao']}", headers=deputy)).status_code == 404


async def test_operators_see_operational_data_never_health(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        ids = await two_communities(client)
        coverage = await ok(
            await client.get(
                f"{API}/reports/coverage", headers=OPERATOR, params={"community": "3502", "month": "2026-11"}
            )
        )
        assert coverage["total"]["elders"] == 1
        teams = await ok(await client.get(f"{API}/teams", headers=OPERATOR))
        assert {t["id"] for t in teams["items"]} == {"axqm-3502", "bzy"}
        for path in (f"/elders/{ids['hao']}", f"/elders/{ids['hao']}/health", f"/elders/{ids['hao']}/visits"):
            r = await client.get(f"{API}{path}", headers=OPERATOR)
            assert r.status_code == 403 and "高血压" not in r.text
        # a staff member who is also an operator sees health only in the communities they serve
        both = token("staff:ops-li", "staff", "operator", communities=[BZY])
        assert (await client.get(f"{API}/elders/{ids['hao']}/health", headers=both)).status_code == 404
        assert (await ok(await client.get(f"{API}/elders/{ids['li']}/health", headers=both)))["conditions"]
        assert (await ok(await client.get(f"{API}/elders/{ids['hao']}", headers=STAFF)))["health_visible"]
