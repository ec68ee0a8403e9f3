"""The programme's rules: rooms' hours and closures, RRULEs, ages and guardians, windows and household limits."""

from __future__ import annotations

from datetime import timedelta

from tests.activities.conftest import MOTHER, NEIGHBOUR, OTHER_STAFF, STAFF, publish, room, sign_up


async def test_a_recurring_workshop_becomes_one_session_per_date_inside_the_rooms_hours(start_runtime, clock):
    async with start_runtime(["activities"], clock=clock) as (_runtime, client):
        venue = await room(client)
        # the clock starts on Saturday 2026-11-28 10:00 in Shanghai: four Saturdays from next week
        body = {"rrule": "FREQ=WEEKLY;BYDAY=SA;COUNT=4", "days": 7}
        published = await publish(client, venue, clock, rrule=body["rrule"], days=body["days"])
        starts = [s["starts_at"] for s in published["sessions"]]
        assert starts == [
            "2026-12-05T10:00:00+08:00",
            "2026-12-12T10:00:00+08:00",
            "2026-12-19T10:00:00+08:00",
            "2026-12-26T10:00:00+08:00",
        ]
        assert {s["series_id"] for s in published["sessions"]} == {published["series_id"]}
        listed = await client.get("/api/activities/activities", params={"venue": venue, "limit": 3}, headers=MOTHER)
        assert len(listed.json()["items"]) == 3 and listed.json()["next_cursor"]

        # Sunday: the room is closed (open Monday to Saturday)
        r = await client.post(
            "/api/activities/activities",
            headers=STAFF,
            json={"venue_id": venue, "title": "陶艺", "starts_at": "2026-11-29T02:00:00Z", "minutes": 60},
        )
        assert r.status_code == 409 and r.json()["code"] == "venue_closed"
        # a closure on New Year's Day refuses sessions that day
        r = await client.post(f"/api/activities/venues/{venue}/closures", headers=STAFF, json={"day": "2027-01-01"})
        assert r.status_code == 201 and r.json()["closures"] == [{"day": "2027-01-01", "reason": ""}]
        r = await client.post(
            "/api/activities/activities",
            headers=STAFF,
            json={"venue_id": venue, "title": "陶艺", "starts_at": "2027-01-01T02:00:00Z", "minutes": 60},
        )
        assert r.status_code == 409 and r.json()["code"] == "venue_closed"
        # after closing time
        r = await client.post(
            "/api/activities/activities",
            headers=STAFF,
            json={"venue_id": venue, "title": "陶艺", "starts_at": "2026-12-01T12:00:00Z", "minutes": 60},
        )
        assert r.json()["code"] == "venue_closed"
        for rule, code in [
            ("FREQ=SECONDLY", "bad_rrule"),
            ("FREQ=DAILY;COUNT=400", "too_many"),
            ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "no_occurrence"),
            ("FREQ=WEEKLY;BYDAY=XX", "bad_rrule"),
        ]:
            r = await client.post(
                "/api/activities/activities",
                headers=STAFF,
                json={
                    "venue_id": venue,
                    "title": "剪纸",
                    "starts_at": "2026-12-01T02:00:00Z",
                    "minutes": 60,
                    "rrule": rule,
                },
            )
            assert r.status_code == 422 and r.json()["code"] == code, (rule, r.text)


async def test_staff_manage_only_their_communitys_rooms(start_runtime, clock):
    async with start_runtime(["activities"], clock=clock) as (_runtime, client):
        venue = await room(client)
        r = await client.post(
            "/api/activities/venues", headers=OTHER_STAFF, json={"community": "智汇城", "name": "x", "capacity": 5}
        )
        assert r.status_code == 403
        r = await client.patch(f"/api/activities/venues/{venue}", headers=OTHER_STAFF, json={"capacity": 5})
        assert r.status_code == 404
        r = await client.post(
            "/api/activities/activities",
            headers=OTHER_STAFF,
            json={"venue_id": venue, "title": "剪纸", "starts_at": "2026-12-01T02:00:00Z", "minutes": 60},
        )
        assert r.status_code == 404
        r = await client.post(
            "/api/activities/venues", headers=MOTHER, json={"community": "智汇城", "name": "x", "capacity": 5}
        )
        assert r.status_code == 403
        assert (await client.get(f"/api/activities/venues/{venue}", headers=MOTHER)).json()["name"] == "儿童活动室"


async def test_ages_guardians_windows_and_household_limits(start_runtime, clock):
    async with start_runtime(["activities"], clock=clock) as (_runtime, client):
        venue = await room(client, guardian_under=8)
        opens = (clock.now() + timedelta(days=1)).isoformat()
        (session,) = (
            await publish(client, venue, clock, min_age=6, max_age=12, household_limit=2, signup_opens=opens)
        )["sessions"]
        r = await sign_up(client, session["id"], MOTHER, participant="小雨", age=8)
        assert r.status_code == 409 and r.json()["code"] == "signup_not_open_yet"
        clock.advance(timedelta(days=1))
        for body, code in [
            ({"participant": "小雨"}, "age_required"),
            ({"participant": "小雨", "age": 5}, "age_out_of_range"),
            ({"participant": "小雨", "age": 13}, "age_out_of_range"),
            ({"participant": "小雨", "age": 7}, "guardian_required"),
        ]:
            r = await sign_up(client, session["id"], MOTHER, **body)
            assert r.status_code == 409 and r.json()["code"] == code, (body, r.text)
        assert (
            await sign_up(client, session["id"], MOTHER, participant="小雨", age=7, guardian=True)
        ).status_code == 201
        r = await sign_up(client, session["id"], MOTHER, participant="小雨", age=7, guardian=True)
        assert r.json()["code"] == "already_signed_up"
        assert (await sign_up(client, session["id"], MOTHER, participant="小雷", age=10)).status_code == 201
        r = await sign_up(client, session["id"], MOTHER, participant="小雪", age=9)
        assert r.status_code == 409 and r.json()["code"] == "household_limit"
        # the household's sign-ups are theirs alone
        mine = (await client.get("/api/activities/signups/mine", headers=MOTHER)).json()["items"]
        assert sorted(s["participant"] for s in mine) == ["小雨", "小雷"]
        assert (await client.get("/api/activities/signups/mine", headers=NEIGHBOUR)).json()["items"] == []
        r = await client.post(f"/api/activities/signups/{mine[0]['id']}/cancel", headers=NEIGHBOUR)
        assert r.status_code == 404
        # the roster shows age bands, not ages or accounts
        roster = (await client.get(f"/api/activities/activities/{session['id']}/signups", headers=STAFF)).json()
        assert [(s["participant"], s["age_group"]) for s in roster["items"]] == [("小雨", "7-12"), ("小雷", "7-12")]
        assert "user" not in roster["items"][0] and "age" not in roster["items"][0]
        clock.advance(timedelta(days=2))  # the session has started: sign-ups are closed
        r = await sign_up(client, session["id"], NEIGHBOUR, participant="小明", age=9)
        assert r.status_code == 409 and r.json()["code"] == "signup_closed"


async def test_a_start_given_in_shanghai_time_reads_back_at_that_time(start_runtime, clock):
    """15:00+08:00 is stored as 07:00 UTC and shown as 15:00 in Shanghai, one session or a series (SQLite
    keeps no offset: a start stored as given read back eight hours late)."""
    async with start_runtime(["activities"], clock=clock) as (_runtime, client):
        venue = await room(client)
        once = {"venue_id": venue, "title": "手工", "starts_at": "2026-12-02T15:00:00+08:00", "minutes": 60}
        series = {**once, "title": "剪纸", "starts_at": "2026-12-05T09:00:00+08:00", "rrule": "FREQ=WEEKLY;COUNT=2"}
        for body in (once, series):
            r = await client.post("/api/activities/activities", headers=STAFF, json=body)
            assert r.status_code == 201, r.text
        listed = await client.get("/api/activities/activities", params={"venue": venue}, headers=MOTHER)
        starts = sorted(item["starts_at"] for item in listed.json()["items"])
        assert starts == ["2026-12-02T15:00:00+08:00", "2026-12-05T09:00:00+08:00", "2026-12-12T09:00:00+08:00"]
