"""What a sign-up counts of the household: its live entries at this activity only, read once the activity is locked.

The sign-up counts places, the queue and the household's entries in one statement, the household's by its own
index (docs/benchmarks.md, twelfth session); this pins which entries count, that two identical requests sent at
once still make one sign-up, on SQLite and PostgreSQL, and that SQLite reads the household's entries by index
(with the old indexes its planner read every entry of the activity: a cost that grew with the waitlist)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from services.activities.adapters.orm import Signup
from services.activities.service_layer.signups import _ENTRIES
from tests.activities.conftest import MOTHER, publish, resident, room, sign_up


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_household_limit_counts_its_live_entries_here_and_a_twin_request_signs_up_once(
    start_runtime, clock, backend, monkeypatch, pg_database
):
    if backend == "postgresql":
        monkeypatch.setenv("ACTIVITIES_DATABASE_URL", pg_database("activities"))
    async with start_runtime(["activities"], clock=clock) as (runtime, client):
        assert runtime.contexts["activities"].store.url.startswith(backend)
        venue = await room(client)
        (here,) = (await publish(client, venue, clock, capacity=1, household_limit=1))["sessions"]
        (there,) = (await publish(client, venue, clock, days=4, capacity=1, household_limit=1))["sessions"]

        # an entry at another session does not count here
        assert (await sign_up(client, there["id"], MOTHER, participant="小雨", age=7)).status_code == 201
        # the same sign-up sent twice at once: one place, one refusal (the second counts the first)
        body = {"participant": "小雨", "age": 7}
        twins = await asyncio.gather(*(sign_up(client, here["id"], MOTHER, **body) for _ in range(2)))
        assert sorted(r.status_code for r in twins) == [201, 409], [r.text for r in twins]
        (taken,) = [r.json() for r in twins if r.status_code == 201]
        assert taken["status"] == "confirmed" and taken["waiting_ahead"] is None and taken["checkin_code"]
        (refused,) = [r.json() for r in twins if r.status_code == 409]
        assert refused["code"] == "already_signed_up"
        r = await sign_up(client, here["id"], MOTHER, participant="小雷", age=10)
        assert r.status_code == 409 and r.json()["code"] == "household_limit"

        # a cancelled entry counts no more: the household may sign up again, now behind a neighbour
        assert (await client.post(f"/api/activities/signups/{taken['id']}/cancel", headers=MOTHER)).status_code == 200
        assert (await sign_up(client, here["id"], resident(1))).json()["status"] == "confirmed"
        again = await sign_up(client, here["id"], MOTHER, participant="小雨", age=7)
        assert again.status_code == 201, again.text
        assert (again.json()["status"], again.json()["waiting_ahead"]) == ("waitlisted", 0)
        r = await sign_up(client, here["id"], resident(2))
        assert (r.json()["status"], r.json()["waiting_ahead"]) == ("waitlisted", 1)

        with runtime.contexts["activities"].store.transaction(readonly=True) as s:
            rows = s.execute(select(Signup).where(Signup.activity_id == here["id"]).order_by(Signup.position))
            stored = [(r.household, r.participant, r.status, r.position) for r in rows.scalars()]
        assert stored == [
            ("H-ZHC-1-101", "小雨", "cancelled", 1),
            ("H-1", "self", "confirmed", 2),
            ("H-ZHC-1-101", "小雨", "waitlisted", 3),
            ("H-2", "self", "waitlisted", 4),
        ]


async def test_sqlite_reads_the_households_entries_by_index_not_the_activitys_queue(start_runtime, clock):
    async with start_runtime(["activities"], clock=clock) as (runtime, _client):
        store = runtime.contexts["activities"].store
        assert store.url.startswith("sqlite")
        statement = _ENTRIES.params(activity_id="A1", household="H-1", participant="self")
        with store.engine.connect() as conn:
            sql = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    searches = [p for p in plan if p.startswith(("SEARCH", "SCAN signup"))]
    assert len(searches) == 4, plan
    assert all("ix_signup_queue" in p for p in searches[:2]), plan  # the places held and the queue's length
    assert all("ix_signup_household_activity (household=? AND activity_id=? AND status=?)" in p for p in searches[2:])
