"""Room bookings: no double booking under concurrency (SQLite and PostgreSQL), staff approval where required."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.activities.conftest import MOTHER, NEIGHBOUR, OTHER_STAFF, STAFF, events, publish, resident, room
from tests.conftest import eventually


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_one_room_one_group_at_a_time(start_runtime, clock, settings, backend, monkeypatch, pg_database):
    if backend == "postgresql":
        monkeypatch.setenv("ACTIVITIES_DATABASE_URL", pg_database("activities"))
    async with start_runtime(["activities"], clock=clock) as (runtime, client):
        assert runtime.contexts["activities"].store.url.startswith(backend)
        venue = await room(client, name="老年人运动室")
        starts = (clock.now() + timedelta(days=2)).isoformat()  # Monday 10:00
        body = {"group_name": "夕阳红舞蹈队", "starts_at": starts, "minutes": 120}
        url = f"/api/activities/venues/{venue}/bookings"
        answers = await asyncio.gather(*(client.post(url, headers=resident(n), json=body) for n in range(12)))
        assert sorted(r.status_code for r in answers) == [201] + [409] * 11
        assert {r.json()["code"] for r in answers if r.status_code == 409} == {"room_taken"}
        # overlapping by half an hour is still taken; right after is free
        later = (clock.now() + timedelta(days=2, hours=1, minutes=30)).isoformat()
        r = await client.post(url, headers=NEIGHBOUR, json={**body, "starts_at": later})
        assert r.status_code == 409
        after = (clock.now() + timedelta(days=2, hours=2)).isoformat()
        assert (await client.post(url, headers=NEIGHBOUR, json={**body, "starts_at": after})).status_code == 201
        # a workshop cannot be planned over a booking either
        r = await client.post(
            "/api/activities/activities",
            headers=STAFF,
            json={"venue_id": venue, "title": "太极", "starts_at": starts, "minutes": 60},
        )
        assert r.status_code == 409 and r.json()["code"] == "room_taken"
        stream = f"{settings.stream_prefix}:activities"
        booked = await eventually(lambda: len(events(settings.redis_url, stream, "RoomBooked")) == 2)
        assert booked


async def test_a_room_that_needs_approval_waits_for_staff(start_runtime, clock, settings):
    async with start_runtime(["activities"], clock=clock) as (_runtime, client):
        venue = await room(client, name="会议室", needs_approval=True)
        await publish(client, venue, clock, days=2)  # Monday 10:00-11:30 is the workshop's
        url = f"/api/activities/venues/{venue}/bookings"
        starts = (clock.now() + timedelta(days=2)).isoformat()
        r = await client.post(
            url, headers=MOTHER, json={"group_name": "假期自习小组", "starts_at": starts, "minutes": 60}
        )
        assert r.status_code == 409 and r.json()["code"] == "room_taken"
        starts = (clock.now() + timedelta(days=2, hours=2)).isoformat()
        r = await client.post(
            url, headers=MOTHER, json={"group_name": "假期自习小组", "starts_at": starts, "minutes": 60}
        )
        assert r.status_code == 201 and r.json()["status"] == "pending"
        booking = r.json()["id"]
        pending = (
            await client.get("/api/activities/room-bookings", headers=STAFF, params={"status": "pending"})
        ).json()
        assert [b["id"] for b in pending["items"]] == [booking]
        assert (await client.get("/api/activities/room-bookings", headers=OTHER_STAFF)).json()["items"] == []
        assert (await client.get("/api/activities/room-bookings", headers=NEIGHBOUR)).json()["items"] == []
        r = await client.post(
            f"/api/activities/room-bookings/{booking}/decision", headers=OTHER_STAFF, json={"approve": True}
        )
        assert r.status_code == 404
        r = await client.post(
            f"/api/activities/room-bookings/{booking}/decision", headers=STAFF, json={"approve": True}
        )
        assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["decided_by"] == "staff:li-yao"
        r = await client.post(
            f"/api/activities/room-bookings/{booking}/decision", headers=STAFF, json={"approve": False}
        )
        assert r.status_code == 409
        stream = f"{settings.stream_prefix}:activities"
        booked = await eventually(lambda: events(settings.redis_url, stream, "RoomBooked"))
        assert booked[0]["data"]["approved_by"] == "staff:li-yao"
        assert len(events(settings.redis_url, stream, "RoomBookingRequested")) == 1
