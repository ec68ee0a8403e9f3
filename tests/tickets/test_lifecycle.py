"""Lifecycle: acknowledge, round-robin assignment, resolve, rate, reopen, close reasons, illegal moves (409)."""

import asyncio
from datetime import timedelta

from tests.conftest import eventually, token
from tests.tickets.helpers import NEIGHBOUR, RESIDENT, STAFF, VOLUNTEER, jpeg_with_exif, published, report

T = "/api/tickets/tickets"


async def roster(client, pool, *people):
    for staff_id, on_duty in people:
        r = await client.put(
            f"/api/tickets/staff/{pool}/{staff_id}", headers=STAFF, json={"display_name": staff_id, "on_duty": on_duty}
        )
        assert r.status_code == 200, r.text


async def test_full_loop_report_acknowledge_assign_resolve_rate(start_runtime, clock, settings):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        await roster(client, "maintenance", ("staff:zhao-gang", True))
        ticket = await report(client)
        tid = ticket["id"]
        clock.advance(timedelta(minutes=30))
        r = await client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={"template": 0})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "assigned" and body["assignee"] == "staff:zhao-gang"
        assert body["history"][1]["note"].startswith("已受理")
        assert body["acknowledged_at"].startswith("2026-11-28T02:30")
        assert (await client.post(f"{T}/{tid}/start", headers=STAFF, json={})).json()["status"] == "in_progress"
        files = [("photo", ("after.jpg", jpeg_with_exif(color=(10, 10, 200)), "image/jpeg"))]
        r = await client.post(f"{T}/{tid}/resolve", headers=STAFF, data={"note": "井盖已更换并固定"}, files=files)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "resolved" and len(r.json()["photos"]) == 1
        resolve_entry = r.json()["history"][-1]
        assert resolve_entry["action"] == "resolve" and resolve_entry["note"] == "井盖已更换并固定"
        assert resolve_entry["photos"] == r.json()["photos"] and resolve_entry["photos"][0].startswith("http")
        r = await client.post(f"{T}/{tid}/rate", headers=RESIDENT, json={"rating": 5, "comment": "很快，谢谢！"})
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["status"] == "closed" and done["close_reason"] == "confirmed" and done["rating"] == 5
        assert [h["action"] for h in done["history"]] == ["open", "acknowledge", "assign", "start", "resolve", "rate"]
        assert all(h["at"] for h in done["history"]) and done["history"][3]["actor"] == "staff:li-yao"

        events = await eventually(lambda: _types_when(settings, 7))
        assert events == [
            "TicketOpened",
            "TicketAcknowledged",
            "TicketAssigned",
            "TicketStatusChanged",
            "TicketResolved",
            "TicketRated",
            "TicketClosed",
        ]
        assigned = (await published(settings, type_suffix="TicketAssigned"))[0]["data"]
        assert assigned["assignee"] == "staff:zhao-gang" and assigned["reporter"] == "resident:zhang-xiaosen"
        rated = (await published(settings, type_suffix="TicketRated"))[0]["data"]
        assert rated["rating"] == 5 and rated["assignee"] == "staff:zhao-gang"


async def _types_when(settings, n):
    events = await published(settings)
    types = [e["type"].split(".")[-2] for e in events]
    return types if len(types) >= n else None


async def test_round_robin_skips_off_duty_staff_and_staff_can_reassign(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        await roster(client, "maintenance", ("staff:a", True), ("staff:b", False), ("staff:c", True))
        assignees = []
        for _ in range(3):
            tid = (await report(client))["id"]
            clock.advance(timedelta(minutes=1))
            assignees.append((await client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={})).json()["assignee"])
        assert assignees == ["staff:a", "staff:c", "staff:a"]
        r = await client.post(f"{T}/{tid}/assign", headers=STAFF, json={"assignee": "staff:b", "note": "熟悉该楼"})
        assert r.status_code == 200 and r.json()["assignee"] == "staff:b"
        assert (await client.post(f"{T}/{tid}/assign", headers=RESIDENT, json={})).status_code == 403
        roster_rows = (await client.get("/api/tickets/staff?pool=maintenance", headers=STAFF)).json()["items"]
        assert {r["staff_id"]: r["on_duty"] for r in roster_rows} == {
            "staff:a": True,
            "staff:b": False,
            "staff:c": True,
        }
        assert (await client.get("/api/tickets/staff", headers=RESIDENT)).status_code == 403
        # nobody on duty: acknowledged but left for manual assignment; automatic assign says why
        await roster(client, "maintenance", ("staff:a", False), ("staff:c", False))
        tid = (await report(client))["id"]
        r = await client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={})
        assert r.json()["status"] == "acknowledged" and r.json()["assignee"] is None
        r = await client.post(f"{T}/{tid}/assign", headers=STAFF, json={})
        assert r.status_code == 409 and "on duty" in r.json()["detail"]


async def test_illegal_transitions_are_refused_with_409_and_change_nothing(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        tid = (await report(client))["id"]
        r = await client.post(f"{T}/{tid}/resolve", headers=STAFF, json={})
        assert r.status_code == 409 and "submitted" in r.json()["detail"]
        assert (await client.post(f"{T}/{tid}/start", headers=STAFF, json={})).status_code == 409
        assert (await client.post(f"{T}/{tid}/rate", headers=RESIDENT, json={"rating": 4})).status_code == 409
        assert (await client.post(f"{T}/{tid}/reopen", headers=RESIDENT, json={"comment": "?"})).status_code == 409
        assert (await client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={})).status_code == 200
        assert (await client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={})).status_code == 409
        r = await client.post(f"{T}/{tid}/close", headers=STAFF, json={"reason": "duplicate", "note": "同 T1"})
        assert r.status_code == 200 and r.json()["close_reason"] == "duplicate"
        for action, body in (
            ("acknowledge", {}),
            ("assign", {"assignee": "staff:x"}),
            ("resolve", {}),
            ("close", {"reason": "rejected", "note": "x"}),
        ):
            r = await client.post(f"{T}/{tid}/{action}", headers=STAFF, json=body)
            assert r.status_code == 409, (action, r.text)
            assert "closed" in r.json()["detail"]
        history = (await client.get(f"{T}/{tid}", headers=STAFF)).json()["history"]
        assert [h["action"] for h in history] == ["open", "acknowledge", "close"]
        assert (await client.post(f"{T}/{tid}/acknowledge", headers=VOLUNTEER, json={})).status_code == 403
        assert (await client.post(f"{T}/{tid}/acknowledge", headers=RESIDENT, json={})).status_code == 403


async def test_close_reasons_and_withdrawal(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        tid = (await report(client))["id"]
        r = await client.post(f"{T}/{tid}/close", headers=STAFF, json={"reason": "whatever", "note": "x"})
        assert r.status_code == 422
        r = await client.post(f"{T}/{tid}/close", headers=STAFF, json={"reason": "not_responsible"})
        assert r.status_code == 422 and "note" in r.json()["detail"]
        assert (await client.post(f"{T}/{tid}/withdraw", headers=NEIGHBOUR, json={})).status_code == 403
        assert (await client.post(f"{T}/{tid}/withdraw", headers=STAFF, json={})).status_code == 403
        r = await client.post(f"{T}/{tid}/withdraw", headers=RESIDENT, json={"note": "已自行解决"})
        assert r.status_code == 200 and r.json()["close_reason"] == "withdrawn"
        tid2 = (await report(client))["id"]
        r = await client.post(
            f"{T}/{tid2}/close", headers=STAFF, json={"reason": "not_responsible", "note": "属燃气公司管辖，已转12345"}
        )
        assert r.json()["status"] == "closed" and r.json()["close_reason"] == "not_responsible"


async def test_reopen_needs_a_comment_within_14_days_and_only_the_reporter_rates(start_runtime, clock, settings):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        tid = (await report(client))["id"]
        await client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={})
        await client.post(f"{T}/{tid}/resolve", headers=STAFF, json={"note": "已修"})
        assert (await client.post(f"{T}/{tid}/reopen", headers=RESIDENT, json={"comment": ""})).status_code == 422
        assert (await client.post(f"{T}/{tid}/rate", headers=NEIGHBOUR, json={"rating": 1})).status_code == 403
        assert (await client.post(f"{T}/{tid}/rate", headers=STAFF, json={"rating": 5})).status_code == 403
        assert (await client.post(f"{T}/{tid}/rate", headers=RESIDENT, json={"rating": 6})).status_code == 422
        clock.advance(timedelta(days=2))
        r = await client.post(f"{T}/{tid}/reopen", headers=RESIDENT, json={"comment": "井盖还是晃"})
        assert r.status_code == 200 and r.json()["status"] == "reopened"
        assert r.json()["resolution_due"].startswith("2026-12-01T02:00")  # a fresh 24 h from the reopening
        reopened = await eventually(lambda: published(settings, type_suffix="TicketReopened"))
        assert reopened[0]["data"]["comment"] is None  # the resident's words stay in the store
        await client.post(f"{T}/{tid}/resolve", headers=STAFF, json={"note": "重新加固"})
        clock.advance(timedelta(days=15))
        r = await client.post(f"{T}/{tid}/reopen", headers=RESIDENT, json={"comment": "又松了"})
        assert r.status_code == 409 and "14" in r.json()["detail"]


async def test_response_templates_per_category_and_state(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        r = await client.get("/api/tickets/categories/street_light/templates", headers=STAFF)
        assert r.status_code == 200 and "已受理，维修人员将于今天到场" in r.json()["acknowledged"]
        assert (await client.get("/api/tickets/categories/street_light/templates", headers=RESIDENT)).status_code == 403
        tid = (await report(client, {"category": "street_light", "title": "路灯不亮", "description": "东门路灯"}))["id"]
        r = await client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={"template": 9})
        assert r.status_code == 422
        r = await client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={"template": 0, "note": "下午3点"})
        assert r.json()["history"][-1]["note"] == "已受理，维修人员将于今天到场（下午3点）"


async def test_staff_token_with_other_sub_can_act_and_operator_too(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        tid = (await report(client))["id"]
        r = await client.post(f"{T}/{tid}/acknowledge", headers=token("operator:ops", "operator"), json={})
        assert r.status_code == 200 and r.json()["history"][-1]["actor"] == "operator:ops"


async def test_concurrent_acknowledgements_on_postgresql_only_one_wins(start_runtime, clock, pg_database, monkeypatch):
    monkeypatch.setenv("TICKETS_DATABASE_URL", pg_database("tickets"))
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        for _ in range(3):
            tid = (await report(client))["id"]
            answers = await asyncio.gather(
                *[client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={"template": 0}) for _ in range(2)]
            )
            assert sorted(r.status_code for r in answers) == [200, 409]
            history = (await client.get(f"{T}/{tid}", headers=STAFF)).json()["history"]
            assert [h["action"] for h in history] == ["open", "acknowledge"]
