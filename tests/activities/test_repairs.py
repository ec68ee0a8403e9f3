"""小修小补: queue numbers and slots with artisans, and a ticket booked with one and closed when the job is done."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.activities.conftest import MOTHER, NEIGHBOUR, events, resident
from tests.conftest import eventually, token

MZHY_STAFF = token("staff:wang-hong", "staff", community="明珠花苑")
GU = token("volunteer:gu-chunxiao", "volunteer", name="谷春肖")
REPORTER = token("resident:li-na", "resident", household="H-MZHY-5-301", community="明珠花苑")


async def artisan_with_sitting(client, clock, **sitting) -> tuple[str, str]:
    r = await client.post(
        "/api/activities/artisans",
        headers=MZHY_STAFF,
        json={"community": "明珠花苑", "name": "谷春肖", "trades": ["缝补", "改衣"], "user": "volunteer:gu-chunxiao"},
    )
    assert r.status_code == 201, r.text
    artisan = r.json()["id"]
    body = {"place": "小区广场", "starts_at": (clock.now() + timedelta(days=7)).isoformat(), "minutes": 120, **sitting}
    r = await client.post(f"/api/activities/artisans/{artisan}/sessions", headers=GU, json=body)
    assert r.status_code == 201, r.text
    return artisan, r.json()["id"]


async def test_queue_numbers_are_handed_out_once_each_and_slots_not_twice(start_runtime, clock):
    async with start_runtime(["activities"], clock=clock) as (_runtime, client):
        _artisan, square = await artisan_with_sitting(client, clock, capacity=5)
        url = f"/api/activities/repair-sessions/{square}/bookings"
        answers = await asyncio.gather(
            *(client.post(url, headers=resident(n), json={"item": "衣服"}) for n in range(8))
        )
        numbers = sorted(r.json()["number"] for r in answers if r.status_code == 201)
        assert numbers == [1, 2, 3, 4, 5]
        assert sorted(r.json()["code"] for r in answers if r.status_code != 201) == ["session_full"] * 3

        _other, workshop = await artisan_with_sitting(client, clock, mode="slots", slot_minutes=30)
        url = f"/api/activities/repair-sessions/{workshop}/bookings"
        listed = (await client.get("/api/activities/repair-sessions", headers=MOTHER)).json()["items"]
        slot = next(s for s in listed if s["id"] == workshop)["starts_at"]
        same = await asyncio.gather(
            client.post(url, headers=MOTHER, json={"slot_at": slot}),
            client.post(url, headers=NEIGHBOUR, json={"slot_at": slot}),
        )
        assert sorted(r.status_code for r in same) == [201, 409]
        nxt = await client.post(url, headers=resident(1), json={})
        assert nxt.status_code == 201 and nxt.json()["slot_at"] != slot  # the first free slot
        mine = (await client.get("/api/activities/repair-bookings/mine", headers=resident(1))).json()["items"]
        assert [b["artisan_name"] for b in mine] == ["谷春肖", "谷春肖"]


async def test_a_repair_ticket_is_booked_with_the_artisan_and_closed_when_done(start_runtime, clock, settings):
    async with start_runtime(["tickets", "activities"], clock=clock) as (_runtime, client):
        r = await client.post(
            "/api/tickets/tickets",
            headers=REPORTER,
            json={
                "category": "repair_clothes",
                "title": "改裤脚",
                "description": "裤脚太长，想改短",
                "community": "明珠花苑",
                "attributes": {"item": "裤子"},
            },
        )
        assert r.status_code == 201, r.text
        ticket = r.json()["id"]
        _artisan, square = await artisan_with_sitting(client, clock)
        r = await client.post(
            "/api/activities/repair-bookings/from-ticket",
            headers=MZHY_STAFF,
            json={"ticket_id": ticket, "session_id": square, "user": "resident:li-na", "item": "裤子改短"},
        )
        assert r.status_code == 201, r.text
        booking = r.json()
        assert booking["ticket_id"] == ticket and booking["number"] == 1
        again = await client.post(
            "/api/activities/repair-bookings/from-ticket",
            headers=MZHY_STAFF,
            json={"ticket_id": ticket, "session_id": square, "user": "resident:li-na"},
        )
        assert again.status_code == 409 and again.json()["code"] == "ticket_already_booked"

        async def status() -> str:
            return (await client.get(f"/api/tickets/tickets/{ticket}", headers=MZHY_STAFF)).json()["status"]

        await eventually(lambda: _is(status, "acknowledged", "assigned"))
        # the reporter sees her number in the activities app too (the booking is in her household's name)
        assert (
            await client.get(f"/api/activities/repair-bookings/{booking['id']}", headers=REPORTER)
        ).status_code == 200
        # only the artisan (or staff) marks it done, once
        r = await client.post(f"/api/activities/repair-bookings/{booking['id']}/done", headers=NEIGHBOUR)
        assert r.status_code == 403
        r = await client.post(f"/api/activities/repair-bookings/{booking['id']}/done", headers=GU)
        assert r.status_code == 200 and r.json()["status"] == "done"
        r = await client.post(f"/api/activities/repair-bookings/{booking['id']}/done", headers=GU)
        assert r.status_code == 409
        await eventually(lambda: _is(status, "closed"))  # the artisan's done closes it: nothing waits
        shown = (await client.get(f"/api/tickets/tickets/{ticket}", headers=MZHY_STAFF)).json()
        assert shown["close_reason"] == "repair_done" and shown["resolved_at"] is not None  # resolved on the way
        assert "谷春肖" in str(shown)
        stream = f"{settings.stream_prefix}:activities"
        assert [e["data"]["ticket_id"] for e in events(settings.redis_url, stream, "RepairCompleted")] == [ticket]

        def closed() -> list[tuple[str, str]]:
            found = events(settings.redis_url, f"{settings.stream_prefix}:tickets")
            return [
                (e["data"]["ticket_id"], e["data"]["reason"]) for e in found if e["type"].endswith("TicketClosed.v1")
            ]

        assert await eventually(closed) == [(ticket, "repair_done")]
        # the resident still rates the job once; the ticket stays closed as it was
        rate = f"/api/tickets/tickets/{ticket}/rate"
        r = await client.post(rate, headers=REPORTER, json={"rating": 5, "comment": "改得很好"})
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["close_reason"], r.json()["rating"]) == ("closed", "repair_done", 5)
        r = await client.post(rate, headers=REPORTER, json={"rating": 1})
        assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
        assert (await client.post(rate, headers=NEIGHBOUR, json={"rating": 1})).status_code == 403


async def _is(status, *wanted: str) -> bool:
    return await status() in wanted
