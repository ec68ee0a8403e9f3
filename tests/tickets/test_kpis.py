"""KPIs for staff: 12345 rates per category and month, first-response median/p90, backlog by age."""

from datetime import timedelta

from tests.tickets.helpers import RESIDENT, STAFF, report

T = "/api/tickets/tickets"


async def test_kpis_per_category_and_month(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        ids = [(await report(client))["id"] for _ in range(4)]  # manhole, 2 h first-response deadline
        street = (await report(client, {"category": "street_light", "title": "路灯", "description": "不亮"}))["id"]
        # first responses after 10, 60 and 180 minutes (the last one late); the fourth never answered
        for tid, minutes in zip(ids[:3], (10, 50, 120), strict=True):
            clock.advance(timedelta(minutes=minutes))
            await client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={})
        for tid, stars in ((ids[0], 5), (ids[1], 2)):
            await client.post(f"{T}/{tid}/resolve", headers=STAFF, json={"note": "已修"})
            await client.post(f"{T}/{tid}/rate", headers=RESIDENT, json={"rating": stars})
        clock.advance(timedelta(days=2))

        assert (await client.get("/api/tickets/kpis", headers=RESIDENT)).status_code == 403
        assert (await client.get("/api/tickets/kpis")).status_code == 401
        assert (await client.get("/api/tickets/kpis?month=11-2026", headers=STAFF)).status_code == 422
        r = await client.get("/api/tickets/kpis", headers=STAFF, params={"month": "2026-11"})
        assert r.status_code == 200, r.text
        rows = {row["category"]: row for row in r.json()["rows"]}
        m = rows["manhole"]
        assert m["month"] == "2026-11" and m["total"] == 4 and m["responded"] == 3
        assert m["response_within_deadline_rate"] == 0.5  # 2 of 4 answered within 2 h
        assert m["resolution_rate"] == 0.5 and m["satisfaction_rate"] == 0.5 and m["rated"] == 2
        assert m["median_first_response_minutes"] == 60 and m["p90_first_response_minutes"] == 156
        assert rows["street_light"]["response_within_deadline_rate"] == 0.0
        backlog = r.json()["backlog"]
        assert backlog == {"manhole": {"1-3d": 2}, "street_light": {"1-3d": 1}}
        assert street
        empty = (await client.get("/api/tickets/kpis", headers=STAFF, params={"month": "2026-10"})).json()
        assert empty["rows"] == []
