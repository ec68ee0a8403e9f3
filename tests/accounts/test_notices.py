"""A building-wide notice reaches exactly the people of that building, once each, with two notify replicas.

notify learns homes from accounts' events (one consumer group over both replicas); staff send the notice
through either replica; each resident of the building has one message, nobody else has any."""

from __future__ import annotations

from sqlmodel import select

from services.accounts.demo import DEMO
from services.accounts.service_layer import register
from tests.conftest import eventually, token

STAFF = token("staff:bzy", "staff", community="北翟营")
WATER_CUT = {
    "community": "北翟营",
    "estate": "亚龙花园",
    "building": "5",
    "title": "停水通知",
    "body": "明天9:00–12:00 5号楼停水",
}


def _home(runtime, building: str, room: str) -> str:
    ctx = runtime.contexts["accounts"]
    with ctx.store.transaction() as s:
        if s.get(register.Community, "北翟营") is None:
            register.add_community(ctx, s, DEMO, "北翟营", "北翟营社区", "裕华区")
        return register.place(ctx, s, DEMO, register.Address("北翟营", "亚龙花园", building, room[0], room)).id


def _person(runtime, name: str, phone: str, household_id: str) -> tuple[str, str]:
    ctx = runtime.contexts["accounts"]
    with ctx.store.transaction() as s:
        person = register.register(ctx, s, DEMO, name=name, phone=phone, household_id=household_id)
        return person.id, person.sub


async def _inbox(client, sub: str) -> list[dict]:
    answer = await client.get("/api/notify/inbox", headers=token(sub, "resident"))
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def test_a_building_notice_reaches_each_resident_of_the_building_once(start_runtime, pg_database, monkeypatch):
    from services.notify.adapters.residence import Residence

    monkeypatch.setenv("NOTIFY_DATABASE_URL", pg_database("notify"))  # the replicas' one store
    async with (
        start_runtime(["accounts", "notify"], consumer_name="replica-a") as (a, client_a),
        start_runtime(["notify"], consumer_name="replica-b") as (_b, client_b),
    ):
        b5 = [_home(a, "5", room) for room in ("101", "102", "201")]
        b6 = _home(a, "6", "101")
        in_b5 = [_person(a, f"居民{i}", f"1391000000{i}", home) for i, home in enumerate(b5)]
        in_b5.append(_person(a, "同住", "13910000009", b5[0]))  # two people of one household: two messages
        elsewhere = [_person(a, "邻楼", "13910000005", b6)]
        mover = _person(a, "搬走", "13910000006", b5[1])
        ctx = a.contexts["accounts"]
        with ctx.store.transaction() as s:
            register.move(ctx, s, DEMO, mover[0], b6)  # lived in 5, lives in 6 now
        elsewhere.append(mover)

        notify = a.contexts["notify"]

        def settled():
            with notify.store.transaction(readonly=True) as s:
                rows = dict(s.exec(select(Residence.sub, Residence.building)).all())
            return len(rows) == 6 and rows[mover[1]] == "6"

        await eventually(settled, timeout=20)

        sent = await client_b.post("/api/notify/notices", headers=STAFF, json=WATER_CUT)  # through the other replica
        assert sent.status_code == 201, sent.text
        assert sent.json()["recipients"] == 4
        for _, sub in in_b5:
            messages = [m for m in await _inbox(client_a, sub) if m["title"] == "停水通知"]
            assert len(messages) == 1, (sub, messages)
            assert "5号楼停水" in messages[0]["body"]
        for _, sub in elsewhere:
            assert [m for m in await _inbox(client_b, sub) if m["title"] == "停水通知"] == []

        report = await client_a.get(f"/api/notify/notices/{sent.json()['id']}", headers=STAFF)
        assert report.status_code == 200, report.text
        assert (report.json()["messages"], report.json()["read"]) == (4, 0)

        other = token("staff:zhc", "staff", community="智汇城")
        refused = await client_a.post("/api/notify/notices", headers=other, json=WATER_CUT)
        assert refused.status_code == 403 and refused.json()["code"] == "community_not_served"
        assert (await client_a.get(f"/api/notify/notices/{sent.json()['id']}", headers=other)).status_code == 404
