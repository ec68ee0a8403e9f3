"""Reports for the year-end summary, the demo programme, and messages reaching residents through notify."""

from __future__ import annotations

from datetime import timedelta

from services.activities.jobs import tick
from services.activities.module import module
from tests.activities.conftest import MOTHER, NEIGHBOUR, OTHER_STAFF, STAFF, publish, room, sign_up
from tests.conftest import eventually, token


async def test_the_month_by_age_group_and_room_use_by_week(start_runtime, clock):
    async with start_runtime(["activities"], clock=clock) as (runtime, client):
        venue = await room(client)
        (first,) = (await publish(client, venue, clock, capacity=2, days=2))["sessions"]  # Monday 2026-11-30
        (second,) = (await publish(client, venue, clock, capacity=2, days=3, minutes=60))["sessions"]
        a = (await sign_up(client, first["id"], MOTHER, participant="小雨", age=8)).json()
        await sign_up(client, first["id"], NEIGHBOUR, age=66)
        await sign_up(client, first["id"], token("resident:r9", "resident", household="H-9"), age=35)
        r = await client.post("/api/activities/checkin", headers=STAFF, json={"code": a["checkin_code"]})
        assert r.status_code == 200
        clock.advance(timedelta(days=2, hours=3))
        tick(runtime.contexts["activities"], clock.now())  # the 66-year-old did not come

        params = {"community": "智汇城", "month": "2026-11"}
        report = (await client.get("/api/activities/reports/monthly", headers=STAFF, params=params)).json()
        groups = {g["age_group"]: g for g in report["groups"]}
        assert report["sessions"] == 1  # Tuesday 2026-12-01 belongs to December
        assert (groups["7-12"]["signups"], groups["7-12"]["attended"]) == (1, 1)
        assert (groups["60+"]["signups"], groups["60+"]["no_shows"]) == (1, 1)
        assert (groups["18-59"]["signups"], groups["18-59"]["waitlisted"]) == (1, 1)

        use = (await client.get("/api/activities/reports/room-use", headers=STAFF, params=params)).json()
        assert use["weeks"] == [
            {"week": "2026-W49", "venue_id": venue, "venue_name": "儿童活动室", "hours": 1.5, "sessions": 1}
        ]
        december = {"community": "智汇城", "month": "2026-12"}
        use = (await client.get("/api/activities/reports/room-use", headers=STAFF, params=december)).json()
        assert [(w["week"], w["hours"]) for w in use["weeks"]] == [("2026-W49", 1.0)]
        r = await client.get("/api/activities/reports/monthly", headers=OTHER_STAFF, params=params)
        assert r.status_code == 403
        r = await client.get("/api/activities/reports/monthly", headers=STAFF, params={**params, "month": "2026-13"})
        assert r.status_code == 422
        assert second["id"]


async def test_demo_loads_the_four_rooms_and_a_month_of_workshops_twice(start_runtime, clock):
    async with start_runtime(["activities"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["activities"]
        module.demo(ctx)
        module.demo(ctx)
        rooms = (await client.get("/api/activities/venues", headers=MOTHER, params={"community": "智汇城"})).json()
        assert [v["name"] for v in rooms["items"]] == ["儿童活动室", "千册图书室", "老年人运动室", "会议室"]
        assert all(len(v["hours"]) == 6 for v in rooms["items"])  # Monday to Saturday
        listed = (await client.get("/api/activities/activities", headers=MOTHER, params={"limit": 200})).json()
        titles = sorted({a["title"] for a in listed["items"]})
        assert titles == ["剪纸", "手刮画", "陶艺"] and len(listed["items"]) == 12
        jianzhi = next(a for a in listed["items"] if a["title"] == "剪纸")
        r = await sign_up(client, jianzhi["id"], MOTHER, participant="小雨", age=8)
        assert r.status_code == 201 and r.json()["status"] == "confirmed"
        # 明珠花苑's artisans: a weekend morning in the square (numbers) and the 匠人坊's slots
        artisans = (await client.get("/api/activities/artisans", headers=MOTHER, params={"trade": "缝补"})).json()
        assert [a["name"] for a in artisans["items"]] == ["谷春肖"]
        sittings = (await client.get("/api/activities/repair-sessions", headers=MOTHER, params={"limit": 50})).json()
        assert sorted({s["place"] for s in sittings["items"]}) == ["“小修小补”匠人坊（底商）", "小区广场"]
        assert len(sittings["items"]) == 10


async def test_a_sign_up_and_its_reminder_reach_the_residents_inbox(start_runtime, clock):
    async with start_runtime(["activities", "notify"], clock=clock) as (runtime, client):
        venue = await room(client)
        (session,) = (await publish(client, venue, clock, days=2))["sessions"]
        assert (await sign_up(client, session["id"], MOTHER, participant="小雨", age=8)).status_code == 201
        clock.advance(timedelta(days=1, hours=1))
        assert tick(runtime.contexts["activities"], clock.now()) == 1

        async def inbox():
            r = await client.get("/api/notify/inbox", headers=MOTHER)
            return r.status_code == 200 and len(r.json()["items"]) == 2 and r.json()["items"]

        messages = await eventually(inbox)
        text = str(messages)
        assert "报名成功：剪纸" in text and "明天的活动：剪纸" in text
