"""What clients expect of every service (in-process, real Redis): Idempotency-Key replays and CORS."""

from __future__ import annotations

import asyncio
import uuid

from tests.conftest import token

RESIDENT = token("resident:zhang-xiaosen", "resident", name="张晓森")
NEIGHBOUR = token("resident:zhao-xiaotong", "resident", name="赵晓彤")
STAFF = token("staff:li-yao", "staff", name="李瑶")
REPORT = {"category": "manhole", "title": "井盖松动", "description": "3号楼前井盖翘起", "community": "北翟营"}
ORIGIN = "https://app.linli.example"


async def _tickets(client) -> list[str]:
    return [t["id"] for t in (await client.get("/api/tickets/tickets", headers=STAFF)).json()["items"]]


async def test_a_retried_report_with_the_same_key_is_filed_once_and_answered_the_same(start_runtime):
    async with start_runtime(["tickets"]) as (_runtime, client):
        key = {"Idempotency-Key": str(uuid.uuid4())}
        first = await client.post("/api/tickets/tickets", headers=RESIDENT | key, json=REPORT)
        again = await client.post("/api/tickets/tickets", headers=RESIDENT | key, json=REPORT)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers["idempotency-replayed"] == "true"
        assert "idempotency-replayed" not in first.headers
        assert await _tickets(client) == [first.json()["id"]]
        # without a key every POST is its own request
        other = await client.post("/api/tickets/tickets", headers=RESIDENT, json=REPORT)
        assert other.status_code == 201 and len(await _tickets(client)) == 2


async def test_the_same_key_with_another_body_is_refused_and_changes_nothing(start_runtime):
    async with start_runtime(["tickets"]) as (_runtime, client):
        key = {"Idempotency-Key": "report-0001"}
        assert (await client.post("/api/tickets/tickets", headers=RESIDENT | key, json=REPORT)).status_code == 201
        changed = await client.post("/api/tickets/tickets", headers=RESIDENT | key, json=REPORT | {"title": "路灯不亮"})
        assert changed.status_code == 422
        assert changed.headers["content-type"] == "application/problem+json"
        assert changed.json()["code"] == "idempotency_key_reused" and "路灯不亮" not in changed.text
        assert len(await _tickets(client)) == 1


async def test_keys_belong_to_their_caller(start_runtime):
    async with start_runtime(["tickets"]) as (_runtime, client):
        key = {"Idempotency-Key": "same-key"}
        mine = await client.post("/api/tickets/tickets", headers=RESIDENT | key, json=REPORT)
        theirs = await client.post("/api/tickets/tickets", headers=NEIGHBOUR | key, json=REPORT)
        assert mine.status_code == theirs.status_code == 201
        assert mine.json()["id"] != theirs.json()["id"] and "idempotency-replayed" not in theirs.headers


async def test_concurrent_duplicates_have_one_effect_and_one_answer(start_runtime):
    async with start_runtime(["tickets"]) as (_runtime, client):
        key = {"Idempotency-Key": str(uuid.uuid4())}
        answers = await asyncio.gather(
            *(client.post("/api/tickets/tickets", headers=RESIDENT | key, json=REPORT) for _ in range(8))
        )
        assert {a.status_code for a in answers} == {201}
        assert len({a.json()["id"] for a in answers}) == 1
        assert sum(a.headers.get("idempotency-replayed") == "true" for a in answers) == 7
        assert len(await _tickets(client)) == 1


async def test_a_malformed_key_is_refused_before_anything_runs(start_runtime):
    async with start_runtime(["tickets"]) as (_runtime, client):
        r = await client.post("/api/tickets/tickets", headers=RESIDENT | {"Idempotency-Key": "x" * 300}, json=REPORT)
        assert r.status_code == 400 and r.json()["code"] == "idempotency_key_invalid"
        assert await _tickets(client) == []


async def test_a_kept_answer_lives_a_day_in_redis_under_the_stream_prefix(start_runtime, settings):
    import redis.asyncio as aredis

    async with start_runtime(["tickets"]) as (_runtime, client):
        key = {"Idempotency-Key": str(uuid.uuid4())}
        assert (await client.post("/api/tickets/tickets", headers=RESIDENT | key, json=REPORT)).status_code == 201
        r = aredis.Redis.from_url(settings.redis_url)
        try:
            keys = [k async for k in r.scan_iter(f"{settings.stream_prefix}:idempotency:*")]
            assert len(keys) == 1
            assert 23 * 3600 < await r.ttl(keys[0]) <= 24 * 3600
        finally:
            await r.aclose()


async def test_preflight_from_an_allowed_origin_is_answered_and_others_are_refused(start_runtime):
    async with start_runtime(["tickets"], cors_origins=[ORIGIN]) as (_runtime, client):
        ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
        r = await client.options("/api/tickets/tickets", headers={"Origin": ORIGIN, **ask})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ORIGIN
        assert "POST" in r.headers["access-control-allow-methods"]
        answer = await client.get("/api/tickets/categories", headers={"Origin": ORIGIN})
        assert answer.headers["access-control-allow-origin"] == ORIGIN
        assert "idempotency-replayed" in answer.headers["access-control-expose-headers"].lower()
        refused = await client.options("/api/tickets/tickets", headers={"Origin": "https://evil.example", **ask})
        assert refused.status_code == 403 and refused.json()["code"] == "cors_refused"
        other = await client.get("/api/tickets/categories", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_without_configured_origins_no_cors_header_is_sent(start_runtime):
    async with start_runtime(["tickets"]) as (_runtime, client):
        answer = await client.get("/api/tickets/categories", headers={"Origin": ORIGIN})
        assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


def body_of_report() -> bytes:
    return "category=street_light&title=路灯不亮&description=3号楼前路灯不亮&community=北翟营".encode()


async def test_utf8_forms_from_a_resident_and_from_staff_are_stored_as_written(start_runtime):
    """``curl -d description=路灯不亮`` sends raw UTF-8 in a URL-encoded form; it was stored as ``è·¯ç¯ä¸äº®``
    and spread into staff inboxes, and staff notes the same (issue #17)."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    async with start_runtime(["tickets"]) as (_, client):
        r = await client.post("/api/tickets/tickets", headers=RESIDENT | form, content=body_of_report())
        assert r.status_code == 201, r.text
        url = f"/api/tickets/tickets/{r.json()['id']}"
        for action, body in (
            ("acknowledge", "note=已派电工查看"),
            ("assign", "assignee=staff:li-yao&note=交给李瑶"),
            ("resolve", "note=灯泡已更换"),
        ):
            r = await client.post(f"{url}/{action}", headers=STAFF | form, content=body.encode())
            assert r.status_code == 200, (action, r.text)
        shown = (await client.get(url, headers=STAFF)).json()
        assert (shown["title"], shown["description"]) == ("路灯不亮", "3号楼前路灯不亮")
        assert [h["note"] for h in shown["history"] if h["note"]][-3:] == ["已派电工查看", "交给李瑶", "灯泡已更换"]
        # another report closed by staff with a form, and one withdrawn by its reporter with one
        for who, action, body in (
            (STAFF, "close", "reason=duplicate&note=与上一条重复"),
            (RESIDENT, "withdraw", "note=已自行修好"),
        ):
            r = await client.post("/api/tickets/tickets", headers=RESIDENT | form, content=body_of_report())
            r = await client.post(
                f"/api/tickets/tickets/{r.json()['id']}/{action}", headers=who | form, content=body.encode()
            )
            assert r.status_code == 200 and r.json()["status"] == "closed", (action, r.text)
            assert body.rsplit("=", 1)[1] in str(r.json()["history"])
