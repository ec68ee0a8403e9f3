"""Cross-service: a hazard found on a volunteer's home visit opens one linked ticket, however often it arrives."""

import redis.asyncio as aredis

from shared.events.envelope import new_event
from shared.events.volunteers import VisitHazardFound
from shared.messaging.streams import StreamNames, encode_entry
from tests.conftest import eventually
from tests.tickets.helpers import STAFF, VOLUNTEER, published


def hazard(hazard_id="H-1", category="gas"):
    return new_event(
        VisitHazardFound(
            elder_id="E-7",
            community="明珠花苑",
            building="4",
            unit="2",
            hazard_id=hazard_id,
            visit_id="V-9",
            category=category,
            description="厨房燃气软管老化开裂，有异味",
            address="明珠花苑4号楼2单元",
            reported_by="volunteer:zhang-xiuqin",
        ),
        subject="V-9",
    )


async def test_visit_hazard_opens_one_linked_ticket_even_when_delivered_twice(start_runtime, clock, settings):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        names = StreamNames(settings.stream_prefix)
        r = aredis.Redis.from_url(settings.redis_url)
        first = hazard()
        again = hazard()  # the same hazard re-published under a new event id
        for event in (first, first, again, hazard("H-2", "something-odd")):
            await r.xadd(names.events("volunteers"), encode_entry(event.to_json(), event.type))
        await r.aclose()

        async def tickets():
            rows = (await client.get("/api/tickets/tickets", headers=STAFF)).json()
            return rows if len(rows) >= 2 else None

        rows = await eventually(tickets)

        async def both_published():  # the relay may publish the two tickets' events in separate batches
            events = await published(settings, type_suffix="TicketOpened")
            return events if len(events) >= 2 else None

        opened = await eventually(both_published)
        by_hazard = {e["data"]["source_hazard_id"]: e for e in opened}
        assert sorted(by_hazard) == ["H-1", "H-2"] and len(opened) == 2
        assert by_hazard["H-1"]["data"]["category"] == "leak"  # gas maps to the leak category
        assert by_hazard["H-2"]["data"]["category"] == "home_hazard"  # unknown kinds: 居家安全隐患
        assert by_hazard["H-1"]["correlationid"] == first.correlationid  # linked to the volunteers' trace
        tid = by_hazard["H-1"]["data"]["ticket_id"]
        view = (await client.get(f"/api/tickets/tickets/{tid}", headers=STAFF)).json()
        assert view["source_hazard_id"] == "H-1" and view["via"] == "volunteers" and view["community"] == "明珠花苑"
        assert len(rows) == 2
        # the volunteer who found it follows their report in full
        mine = await client.get(f"/api/tickets/tickets/{tid}", headers=VOLUNTEER)
        assert mine.json()["reporter"] == "volunteer:zhang-xiuqin"
        assert len((await client.get("/api/tickets/tickets", headers=VOLUNTEER)).json()) == 2

        await client.post(f"/api/tickets/tickets/{tid}/acknowledge", headers=STAFF, json={})
        await client.post(f"/api/tickets/tickets/{tid}/resolve", headers=STAFF, json={"note": "已更换燃气软管"})
        resolved = await eventually(lambda: published(settings, type_suffix="TicketResolved"))
        assert resolved[0]["data"]["source_hazard_id"] == "H-1"
