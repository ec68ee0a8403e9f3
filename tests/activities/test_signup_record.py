"""What a sign-up answers, stores and announces: the place or the queue number, the event's facts, the rows.

The route reads the activity and its room in one statement and writes without ORM objects (docs/benchmarks.md,
eleventh session); this pins what it did before, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.activities.adapters.orm import Activity, Signup
from tests.activities.conftest import MOTHER, NEIGHBOUR, STAFF, events, publish, resident, room, sign_up
from tests.conftest import eventually


def _instant(text: str) -> datetime:
    """An event's time (on SQLite the activity's start is read back without its offset: UTC)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_places_then_the_queue_with_their_events_and_rows(
    start_runtime, clock, settings, stream, backend, monkeypatch, pg_database
):
    if backend == "postgresql":
        monkeypatch.setenv("ACTIVITIES_DATABASE_URL", pg_database("activities"))
    async with start_runtime(["activities"], clock=clock) as (runtime, client):
        venue = await room(client, guardian_under=8)
        (session,) = (await publish(client, venue, clock, capacity=2, household_limit=2))["sessions"]
        answers = [
            (await sign_up(client, session["id"], MOTHER, participant="小雨", age=7, guardian=True)).json(),
            (await sign_up(client, session["id"], NEIGHBOUR)).json(),
            (await sign_up(client, session["id"], resident(1))).json(),
            (await sign_up(client, session["id"], MOTHER, participant="小雷", age=10)).json(),
        ]
        assert [(a["participant"], a["status"], a["waiting_ahead"]) for a in answers] == [
            ("小雨", "confirmed", None),
            ("self", "confirmed", None),
            ("self", "waitlisted", 0),
            ("小雷", "waitlisted", 1),
        ]
        for a in answers:
            assert a["activity_id"] == session["id"] and a["title"] == "剪纸"
            assert a["starts_at"] == session["starts_at"] and a["created_at"].endswith("+08:00")
            assert a["attended"] is None and a["checked_in_at"] is None and a["offered_until"] is None
            assert (a["checkin_code"] is not None) == (a["status"] == "confirmed")
        # the household limit counts the household's places and queue entries alike
        r = await sign_up(client, session["id"], MOTHER, participant="小雪", age=9)
        assert r.status_code == 409 and r.json()["code"] == "household_limit"
        r = await sign_up(client, session["id"], NEIGHBOUR)
        assert r.status_code == 409 and r.json()["code"] == "already_signed_up"
        r = await sign_up(client, session["id"], resident(2), participant="小星", age=6)
        assert r.status_code == 409 and r.json()["code"] == "guardian_required"
        r = await sign_up(client, "A-none", resident(2))
        assert r.status_code == 404

        # the events carry the session's facts and the room's name; the queue's count who is ahead
        await eventually(lambda: len(events(settings.redis_url, stream, "SignupWaitlisted")) == 2)
        confirmed = events(settings.redis_url, stream, "SignupConfirmed")  # published before them, in order
        waitlisted = events(settings.redis_url, stream, "SignupWaitlisted")
        facts = {
            "activity_id": session["id"],
            "title": "剪纸",
            "community": "智汇城",
            "venue_id": venue,
            "venue_name": "儿童活动室",
        }
        users = ["resident:zhao-xiaotong", "resident:zhang-xiaosen", "resident:r1", "resident:zhao-xiaotong"]
        for e, a in zip([*confirmed, *waitlisted], answers, strict=True):
            assert e["subject"] == a["id"]
            data = e["data"]
            assert {k: data[k] for k in facts} == facts and data["signup_id"] == a["id"]
            assert data["user"] == users[answers.index(a)]
            assert data["for_child"] == (a["participant"] != "self")
            assert _instant(data["starts_at"]) == datetime.fromisoformat(session["starts_at"])
        assert [e["data"]["from_waitlist"] for e in confirmed] == [False, False]
        assert [e["data"]["waiting_ahead"] for e in waitlisted] == [0, 1]

        # the rows: queue positions in order, the next one kept on the activity, nothing else touched
        with runtime.contexts["activities"].store.transaction(readonly=True) as s:
            rows = s.execute(select(Signup).where(Signup.activity_id == session["id"]).order_by(Signup.position))
            stored = [(r.participant, r.household, r.status, r.position, r.age, r.guardian) for r in rows.scalars()]
            act = s.get(Activity, session["id"])
            assert act is not None
            assert (act.next_position, act.capacity, act.status) == (5, 2, "published")
        assert stored == [
            ("小雨", "H-ZHC-1-101", "confirmed", 1, 7, True),
            ("self", "H-ZHC-2-202", "confirmed", 2, None, False),
            ("self", "H-1", "waitlisted", 3, None, False),
            ("小雷", "H-ZHC-1-101", "waitlisted", 4, 10, False),
        ]
        shown = (await client.get(f"/api/activities/activities/{session['id']}", headers=STAFF)).json()
        assert (shown["confirmed"], shown["waitlisted"], shown["places_left"]) == (2, 2, 0)
