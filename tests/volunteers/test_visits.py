"""Visit logs, corrections with history, the time bank, hazards that become one repair ticket, reports."""

from __future__ import annotations

from datetime import timedelta

import redis.asyncio as aredis

from shared.events import CloudEvent, new_event
from shared.events.tickets import TicketOpened, TicketResolved
from shared.events.volunteers import VisitHazardFound
from shared.messaging.streams import StreamNames, encode_entry
from tests.conftest import eventually, token
from tests.volunteers.helpers import (
    API,
    LEADER,
    LIU,
    RESIDENT,
    STAFF,
    WANG,
    ok,
    paired_elder,
    published,
)

CHECKLIST = {
    "health_mood": "ok",
    "daily_needs": "ok",
    "family_contact": "attention",
    "safety_water": "ok",
    "safety_electricity": "ok",
    "safety_gas": "problem",
    "safety_heating": "ok",
    "service_needs": "ok",
}
GAS = {"category": "gas", "description": "燃气软管老化开裂", "location": "厨房"}


async def stream_settled(r, stream: str, group: str) -> bool:
    """Every entry of ``stream`` has been read and acknowledged by ``group``."""
    info = next(g for g in await r.xinfo_groups(stream) if g["name"].decode() == group)
    last = (await r.xrevrange(stream, count=1))[0][0]
    return info["pending"] == 0 and info["last-delivered-id"] == last


async def log(client, elder_id, who=WANG, minutes=45, **extra):
    return await client.post(
        f"{API}/logs",
        headers=who,
        json={
            "elder_id": elder_id,
            "method": "door",
            "minutes": minutes,
            "checklist": CHECKLIST,
            "services": ["chat", "safety_check"],
            "notes": "血压偏高，已提醒服药",
            **extra,
        },
    )


async def test_logging_visits_credits_hours_and_corrections_keep_history(start_runtime, clock, settings):
    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        ids, elder = await paired_elder(client, "郝连芳", tier="key")
        first_visit = elder["upcoming_visits"][0]["id"]
        clock.advance(timedelta(days=1))

        # only the paired volunteers (or the team leader / staff naming a volunteer) log visits
        assert (await log(client, elder["id"], who=LIU)).status_code == 404  # not paired: not in her reach
        assert (await log(client, elder["id"], who=RESIDENT)).status_code == 403
        assert (await log(client, elder["id"], checklist={"mood": "great"})).status_code == 422
        assert (await log(client, elder["id"], method="telepathy")).status_code == 422
        future = (await log(client, elder["id"], visited_at="2026-12-31T10:00:00")).json()
        assert "将来" in future["detail"]
        visit = await ok(await log(client, elder["id"]), 201)
        assert visit["id"] == first_visit and visit["status"] == "done"
        log_id = visit["log_id"]
        assert visit["logs"][0]["checklist"]["safety_gas"] == "problem"

        bank = await ok(await client.get(f"{API}/volunteers/{ids['wang']}/timebank", headers=WANG))
        assert bank["balance_hours"] == 0.75
        assert (await client.get(f"{API}/volunteers/{ids['wang']}/timebank", headers=LIU)).status_code == 403

        # the author corrects the duration: the balance follows, the history keeps both values
        r = await client.patch(f"{API}/logs/{log_id}", headers=WANG, json={"minutes": 90, "reason": "记错时长"})
        amended = await ok(r)
        assert amended["minutes"] == 90
        assert amended["history"][0]["before"] == {"minutes": 45} and amended["history"][0]["after"] == {"minutes": 90}
        assert amended["history"][0]["actor"] == "volunteer:wang-guilan"
        # another volunteer may not (the elder is not in her reach), nor another team's leader; the team leader may
        r = await client.patch(f"{API}/logs/{log_id}", headers=LIU, json={"minutes": 10, "reason": "x"})
        assert r.status_code == 404
        other_team = token("volunteer:sun-li", "volunteer", "team_leader")
        r = await client.patch(f"{API}/logs/{log_id}", headers=other_team, json={"minutes": 10, "reason": "x"})
        assert r.status_code == 404
        r = await client.patch(f"{API}/logs/{log_id}", headers=LEADER, json={"method": "phone", "reason": "电话回访"})
        assert (await ok(r))["method"] == "phone"
        bank = await ok(await client.get(f"{API}/volunteers/{ids['wang']}/timebank", headers=LEADER))
        assert bank["balance_hours"] == 1.5
        assert [(e["kind"], e["hours"]) for e in bank["entries"]] == [("visit", 0.75), ("correction", 0.75)]

        # a visit without a planned one is logged ad hoc by the team leader for a volunteer
        r = await log(client, elder["id"], who=LEADER, volunteer_id=ids["liu"], minutes=30)
        adhoc = await ok(r, 201)
        assert adhoc["kind"] == "adhoc"

        hours = (await ok(await client.get(f"{API}/reports/hours", headers=LEADER)))["items"]
        assert {h["volunteer_id"]: h["hours"] for h in hours} == {ids["leader"]: 0, ids["wang"]: 1.5, ids["liu"]: 0.5}
        idle = (await ok(await client.get(f"{API}/reports/idle-volunteers", headers=STAFF)))["items"]
        assert [v["volunteer_id"] for v in idle] == [ids["leader"]]
        clock.advance(timedelta(days=31))
        idle = (await ok(await client.get(f"{API}/reports/idle-volunteers", headers=STAFF)))["items"]
        assert len(idle) == 3
        assert (await client.get(f"{API}/reports/hours", headers=WANG)).status_code == 403

        done = await eventually(lambda: published(settings, "VisitCompleted"))
        assert done[0]["data"]["visit_id"] == first_visit and done[0]["data"]["minutes"] == 45
        assert "血压" not in str(published(settings))

        # health notes in a log are shown only to those who may see health data
        unpaired = await client.get(f"{API}/visits/{first_visit}", headers=LIU)
        assert unpaired.status_code == 404 and "血压" not in unpaired.text
        operator_view = await client.get(f"{API}/visits/{first_visit}", headers=token("operator:o", "operator"))
        assert operator_view.status_code == 403
        paired = await ok(await client.get(f"{API}/visits/{first_visit}", headers=WANG))
        assert paired["logs"][0]["notes"] == "血压偏高，已提醒服药"


async def test_hazard_ticket_id_comes_back_from_ticket_events(start_runtime, clock, settings):
    names = StreamNames(settings.stream_prefix)
    r = aredis.Redis.from_url(settings.redis_url)
    async with start_runtime(["volunteers"], clock=clock) as (_rt, client):
        _ids, elder = await paired_elder(client, "郝连芳", tier="key")
        visit = await ok(await log(client, elder["id"], hazards=[GAS]), 201)
        hazard = visit["hazards"][0]
        assert hazard["status"] == "open" and hazard["ticket_id"] is None
        found = await eventually(lambda: published(settings, "VisitHazardFound"))
        assert len(found) == 1
        data = found[0]["data"]
        assert data["hazard_id"] == hazard["id"] and data["visit_id"] == visit["id"]
        assert data["category"] == "gas" and data["description"] == "燃气软管老化开裂"
        assert data["address"] == "3502 3号楼 2单元 1层 厨房" and data["building"] == "3"
        assert "血压" not in str(data) and "1361111" not in str(data)

        opened = new_event(
            TicketOpened(
                ticket_id="T-88", category="leak", title="入户隐患：燃气软管老化开裂", source_hazard_id=hazard["id"]
            ),
            subject="T-88",
        )
        for _ in range(2):  # delivered twice: one effect
            await r.xadd(names.events("tickets"), encode_entry(opened.to_json(), opened.type))

        async def ticketed():
            v = await ok(await client.get(f"{API}/visits/{visit['id']}", headers=WANG))
            return v["hazards"][0]["ticket_id"] == "T-88" and v

        shown = await eventually(ticketed)
        assert shown["hazards"][0]["status"] == "ticketed"
        open_list = (await ok(await client.get(f"{API}/reports/hazards", headers=LEADER)))["items"]
        assert [(h["hazard_id"], h["ticket_id"]) for h in open_list] == [(hazard["id"], "T-88")]

        resolved = new_event(
            TicketResolved(
                ticket_id="T-88",
                category="leak",
                actor="staff:li-yao",
                note="已更换燃气软管",
                source_hazard_id=hazard["id"],
            ),
            subject="T-88",
        )
        await r.xadd(names.events("tickets"), encode_entry(resolved.to_json(), resolved.type))

        async def fixed():
            v = await ok(await client.get(f"{API}/visits/{visit['id']}", headers=LEADER))
            return v["hazards"][0]["status"] == "resolved" and v

        shown = await eventually(fixed)
        assert shown["hazards"][0]["resolution"] == "已更换燃气软管"
        assert (await ok(await client.get(f"{API}/reports/hazards", headers=LEADER)))["items"] == []
    await r.aclose()


async def test_hazard_becomes_exactly_one_repair_ticket(start_runtime, clock, settings):
    async with start_runtime(["volunteers", "tickets"], clock=clock) as (_rt, client):
        _ids, elder = await paired_elder(client, "郝连芳", tier="key")
        visit = await ok(await log(client, elder["id"], hazards=[GAS]), 201)

        async def ticketed():
            v = await ok(await client.get(f"{API}/visits/{visit['id']}", headers=WANG))
            return v["hazards"][0]["ticket_id"]

        ticket_id = await eventually(ticketed, timeout=15)
        tickets = (await ok(await client.get("/api/tickets/tickets", headers=STAFF)))["items"]
        assert [t["id"] for t in tickets] == [ticket_id]

        # the same hazard delivered again (a redelivery, and a re-publication under a new event id): still one ticket
        names = StreamNames(settings.stream_prefix)
        r = aredis.Redis.from_url(settings.redis_url)
        entries = [
            fields
            for _, fields in await r.xrange(names.events("volunteers"))
            if fields.get(b"type") == VisitHazardFound.event_type.encode()
        ]
        assert len(entries) == 1
        original = CloudEvent.model_validate_json(entries[0][b"cloudevent"])
        again = new_event(VisitHazardFound.model_validate(original.data), subject=original.subject)
        for event in (original, again):
            await r.xadd(names.events("volunteers"), encode_entry(event.to_json(), event.type))
        await eventually(lambda: stream_settled(r, names.events("volunteers"), "tickets"))
        await r.aclose()
        assert len((await ok(await client.get("/api/tickets/tickets", headers=STAFF)))["items"]) == 1
        ticket = await ok(await client.get(f"/api/tickets/tickets/{ticket_id}", headers=STAFF))
        assert "燃气软管老化开裂" in ticket["title"]

        # staff fix it through the tickets API: the resolution comes back to the visit
        await ok(await client.post(f"/api/tickets/tickets/{ticket_id}/acknowledge", headers=STAFF, json={}))
        await ok(
            await client.post(
                f"/api/tickets/tickets/{ticket_id}/resolve", headers=STAFF, json={"note": "已更换燃气软管"}
            )
        )

        async def resolved():
            v = await ok(await client.get(f"{API}/visits/{visit['id']}", headers=WANG))
            return v["hazards"][0]["status"] == "resolved" and v["hazards"][0]

        hazard = await eventually(resolved, timeout=15)
        assert hazard["resolution"] == "已更换燃气软管" and hazard["ticket_id"] == ticket_id
        assert len((await ok(await client.get("/api/tickets/tickets", headers=STAFF)))["items"]) == 1
