"""Places never exceed capacity, a full session has a waitlist, a freed place is offered in turn."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from services.activities.jobs import tick
from tests.activities.conftest import MOTHER, NEIGHBOUR, STAFF, events, publish, resident, room, sign_up
from tests.conftest import eventually


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_fifty_concurrent_signups_for_ten_places(
    start_runtime, clock, settings, stream, backend, monkeypatch, pg_database
):
    if backend == "postgresql":
        monkeypatch.setenv("ACTIVITIES_DATABASE_URL", pg_database("activities"))
    async with start_runtime(["activities"], clock=clock) as (runtime, client):
        assert runtime.contexts["activities"].store.url.startswith(backend)
        venue = await room(client)
        (session,) = (await publish(client, venue, clock, capacity=10))["sessions"]
        results = await asyncio.gather(*(sign_up(client, session["id"], resident(n)) for n in range(50)))
        assert all(r.status_code == 201 for r in results), [r.text for r in results if r.status_code != 201]
        statuses = [r.json()["status"] for r in results]
        assert statuses.count("confirmed") == 10 and statuses.count("waitlisted") == 40
        shown = (await client.get(f"/api/activities/activities/{session['id']}", headers=MOTHER)).json()
        assert (shown["confirmed"], shown["waitlisted"], shown["places_left"]) == (10, 40, 0)
        # the waitlist is a queue: the first waitlisted has nobody ahead, the last 39
        ahead = sorted(r.json()["waiting_ahead"] for r in results if r.json()["status"] == "waitlisted")
        assert ahead == list(range(40))

        # one cancellation offers the place to exactly the first in line
        confirmed = next(i for i, r in enumerate(results) if r.json()["status"] == "confirmed")
        first = min((r.json() for r in results if r.json()["status"] == "waitlisted"), key=lambda s: s["waiting_ahead"])
        r = await client.post(
            f"/api/activities/signups/{results[confirmed].json()['id']}/cancel", headers=resident(confirmed)
        )
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
        offers = await eventually(lambda: events(settings.redis_url, stream, "SpotOffered"))
        assert [o["data"]["signup_id"] for o in offers] == [first["id"]]
        assert len(events(settings.redis_url, stream, "SignupConfirmed")) == 10
        assert len(events(settings.redis_url, stream, "SignupWaitlisted")) == 40


async def test_an_offer_runs_out_and_goes_to_the_next_who_accepts(start_runtime, clock, settings, stream):
    async with start_runtime(["activities"], clock=clock) as (runtime, client):
        venue = await room(client)
        (session,) = (await publish(client, venue, clock, capacity=1))["sessions"]
        a = (await sign_up(client, session["id"], MOTHER, participant="小雨", age=8)).json()
        b = (await sign_up(client, session["id"], NEIGHBOUR)).json()
        c = (await sign_up(client, session["id"], resident(7))).json()
        assert [a["status"], b["status"], c["status"]] == ["confirmed", "waitlisted", "waitlisted"]
        assert a["checkin_code"] and b["checkin_code"] is None

        assert (await client.post(f"/api/activities/signups/{a['id']}/cancel", headers=MOTHER)).status_code == 200
        mine = (await client.get(f"/api/activities/signups/{b['id']}", headers=NEIGHBOUR)).json()
        assert mine["status"] == "offered" and mine["offered_until"]
        # the neighbour does not answer in time: the offer expires and C is asked
        ctx = runtime.contexts["activities"]
        assert tick(ctx, clock.now() + timedelta(hours=11)) == 0
        clock.advance(timedelta(hours=12))
        assert tick(ctx, clock.now()) == 2  # B's offer expired, C's offered
        assert (await client.post(f"/api/activities/signups/{b['id']}/accept", headers=NEIGHBOUR)).status_code == 409
        r = await client.post(f"/api/activities/signups/{c['id']}/accept", headers=resident(7))
        assert r.status_code == 200 and r.json()["status"] == "confirmed" and r.json()["checkin_code"]
        shown = (await client.get(f"/api/activities/activities/{session['id']}", headers=MOTHER)).json()
        assert (shown["confirmed"], shown["waitlisted"]) == (1, 0)
        reasons = [
            e["data"]["reason"] for e in await eventually(lambda: events(settings.redis_url, stream, "SignupCancelled"))
        ]
        assert sorted(reasons) == ["cancelled", "offer_expired"]


async def test_a_declined_offer_goes_to_the_next(start_runtime, clock):
    async with start_runtime(["activities"], clock=clock) as (_runtime, client):
        venue = await room(client)
        (session,) = (await publish(client, venue, clock, capacity=1))["sessions"]
        a = (await sign_up(client, session["id"], MOTHER)).json()
        b = (await sign_up(client, session["id"], NEIGHBOUR)).json()
        c = (await sign_up(client, session["id"], resident(3))).json()
        await client.post(f"/api/activities/signups/{a['id']}/cancel", headers=MOTHER)
        assert (await client.post(f"/api/activities/signups/{b['id']}/decline", headers=NEIGHBOUR)).status_code == 200
        assert (await client.get(f"/api/activities/signups/{c['id']}", headers=resident(3))).json()[
            "status"
        ] == "offered"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_cancellation_and_deadlines_fire_once_with_two_replicas(
    start_runtime, clock, settings, stream, backend, monkeypatch, pg_database
):
    if backend == "postgresql":
        monkeypatch.setenv("ACTIVITIES_DATABASE_URL", pg_database("activities"))
    async with start_runtime(["activities"], clock=clock) as (one, client):
        assert one.contexts["activities"].store.url.startswith(backend)
        venue = await room(client)
        (session,) = (await publish(client, venue, clock, capacity=2, days=2))["sessions"]
        people = [MOTHER, NEIGHBOUR, resident(1), resident(2)]
        signed = [(await sign_up(client, session["id"], p)).json() for p in people]
        assert [s["status"] for s in signed] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
        async with start_runtime(["activities"], clock=clock, consumer_name="c2") as (two, client2):
            # the same cancellation sent to both replicas at once ends the place once and offers it once
            url = f"/api/activities/signups/{signed[0]['id']}/cancel"
            answers = await asyncio.gather(client.post(url, headers=MOTHER), client2.post(url, headers=MOTHER))
            assert sorted(r.status_code for r in answers) == [200, 409]

            async def both_tick() -> int:
                counts = await asyncio.gather(
                    asyncio.to_thread(tick, one.contexts["activities"], clock.now()),
                    asyncio.to_thread(tick, two.contexts["activities"], clock.now()),
                )
                return sum(counts)

            clock.advance(timedelta(hours=12))  # the offer to resident 1 runs out: resident 2 is asked
            assert await both_tick() == 2
            assert await both_tick() == 0
            r = await client.post(f"/api/activities/signups/{signed[3]['id']}/accept", headers=resident(2))
            assert r.status_code == 200
            clock.advance(timedelta(hours=13))  # a day before the session: one reminder per place
            assert await both_tick() == 2
            assert await both_tick() == 0
        await eventually(lambda: len(events(settings.redis_url, stream, "ActivityReminderDue")) == 2)
        offers = events(settings.redis_url, stream, "SpotOffered")
        assert [o["data"]["signup_id"] for o in offers] == [signed[2]["id"], signed[3]["id"]]
        reminded = sorted(e["data"]["user"] for e in events(settings.redis_url, stream, "ActivityReminderDue"))
        assert reminded == sorted(["resident:zhang-xiaosen", "resident:r2"])


async def test_an_organisers_cancellation_tells_everyone(start_runtime, clock, settings, stream):
    async with start_runtime(["activities"], clock=clock) as (_runtime, client):
        venue = await room(client)
        (session,) = (await publish(client, venue, clock, capacity=1))["sessions"]
        await sign_up(client, session["id"], MOTHER)
        await sign_up(client, session["id"], NEIGHBOUR)
        r = await client.post(
            f"/api/activities/activities/{session['id']}/cancel", headers=STAFF, json={"reason": "场地维修"}
        )
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        (cancelled,) = await eventually(lambda: events(settings.redis_url, stream, "ActivityCancelled"))
        assert cancelled["data"]["users"] == ["resident:zhang-xiaosen", "resident:zhao-xiaotong"]
        mine = (await client.get("/api/activities/signups/mine", headers=MOTHER)).json()["items"]
        assert [s["status"] for s in mine] == ["cancelled"]
        assert (await sign_up(client, session["id"], resident(5))).json()["code"] == "activity_cancelled"
