"""Circulation through HTTP: the 3-book limit, blocks, routing slips, holds, renewals, copy statuses."""

from datetime import timedelta

import pytest

from services.library.jobs import tick
from tests.conftest import eventually
from tests.library.conftest import CARD_A, CARD_B, RESIDENT, STAFF, checkout, events, register


async def test_three_books_then_refused_and_isbn10_title(lib):
    async with lib() as (_rt, client):
        r = await client.put("/api/library/titles", headers=STAFF, json={"isbn": "7-5366-9293-5", "title": "三体"})
        assert r.status_code == 200 and r.json()["isbn"] == "9787536692930"
        for wrong in ("7536692931", "9787536692931"):  # ISBN-10 and ISBN-13 with a wrong check digit
            r = await client.put("/api/library/titles", headers=STAFF, json={"isbn": wrong, "title": "三体"})
            assert r.status_code == 422 and "校验位" in r.json()["detail"]
        reader = await register(client, CARD_A, "赵晓彤")
        for barcode in ("ZHC-1", "ZHC-2", "ZHC-3"):
            r = await checkout(client, reader, barcode)
            assert r.status_code == 201, r.text
        assert r.json()["due_at"] == "2026-12-28T10:00:00+08:00"  # 30 days, shown in Asia/Shanghai
        r = await checkout(client, reader, "ZHC-4")
        assert r.status_code == 409 and "最多同时借3本" in r.json()["detail"]
        r = await checkout(client, await register(client, CARD_B, "张晓森"), "ZHC-1")
        assert r.status_code == 409  # already checked out


async def test_blocked_reader_can_return_but_not_borrow_and_overdue_blocks(lib, clock):
    async with lib() as (_rt, client):
        reader = await register(client, CARD_A, "赵晓彤")
        assert (await checkout(client, reader, "ZHC-1")).status_code == 201
        r = await client.post(f"/api/library/readers/{reader}/block", headers=STAFF, json={"reason": "损坏图书未赔偿"})
        assert r.json()["blocked"] is True
        r = await checkout(client, reader, "ZHC-2")
        assert r.status_code == 409 and "损坏图书未赔偿" in r.json()["detail"]
        r = await client.post(
            "/api/library/checkin", headers=STAFF, json={"barcode": "ZHC-1", "branch": "CN-SJZ-YH-ZHC"}
        )
        assert r.status_code == 200 and r.json()["loan_id"]
        await client.delete(f"/api/library/readers/{reader}/block", headers=STAFF)
        assert (await checkout(client, reader, "ZHC-2")).status_code == 201
        clock.advance(timedelta(days=31))
        r = await checkout(client, reader, "ZHC-3")
        assert r.status_code == 409 and "逾期" in r.json()["detail"]
        r = await client.get("/api/library/reports/overdue", headers=STAFF)
        overdue = [(x["barcode"], x["days_overdue"], x["card"]) for x in r.json()["items"]]
        assert overdue == [("ZHC-2", 1, "110105********002X")]


async def test_checkin_routing_home_floating_and_arrival(lib, clock, settings):
    async with lib() as (_rt, client):
        reader = await register(client, CARD_A, "赵晓彤")
        await checkout(client, reader, "ZHC-3")
        await checkout(client, reader, "FLT-1")
        # returned at its home branch: back on the shelf
        r = await client.post(
            "/api/library/checkin", headers=STAFF, json={"barcode": "ZHC-3", "branch": "CN-SJZ-YH-ZHC"}
        )
        assert (r.json()["status"], r.json()["reason"]) == ("available", "shelve")
        await checkout(client, reader, "ZHC-3", branch="CN-SJZ-YH-ZHC")
        # returned elsewhere: in transit home, and the slip says where
        r = await client.post(
            "/api/library/checkin", headers=STAFF, json={"barcode": "ZHC-3", "branch": "CN-SJZ-YH-MZHY"}
        )
        slip = r.json()
        assert (slip["status"], slip["destination"]) == ("in_transit", "CN-SJZ-YH-ZHC")
        assert "CN-SJZ-YH-ZHC" in slip["slip"]
        # a floating collection keeps the copy where it was returned
        r = await client.post(
            "/api/library/checkin", headers=STAFF, json={"barcode": "FLT-1", "branch": "CN-SJZ-YH-MZHY"}
        )
        assert (r.json()["status"], r.json()["destination"]) == ("available", "CN-SJZ-YH-MZHY")
        clock.advance(timedelta(days=2))
        transit = (await client.get("/api/library/reports/in-transit", headers=STAFF)).json()["items"]
        assert [(t["barcode"], t["to"], t["age_days"]) for t in transit] == [("ZHC-3", "CN-SJZ-YH-ZHC", 2.0)]
        r = await client.post(
            "/api/library/arrivals", headers=STAFF, json={"barcode": "ZHC-3", "branch": "CN-SJZ-YH-MZHY"}
        )
        assert r.status_code == 409 and "CN-SJZ-YH-ZHC" in r.json()["detail"]
        r = await client.post(
            "/api/library/arrivals", headers=STAFF, json={"barcode": "ZHC-3", "branch": "CN-SJZ-YH-ZHC"}
        )
        assert r.json()["status"] == "available"
        assert (await client.get("/api/library/reports/in-transit", headers=STAFF)).json()["items"] == []
        stream = f"{settings.stream_prefix}:library"
        await eventually(lambda: events(settings.redis_url, stream, "BookArrived"))
        assert [e["data"]["to_branch"] for e in events(settings.redis_url, stream, "BookInTransit")] == [
            "CN-SJZ-YH-ZHC"
        ]


async def test_hold_routing_ready_expiry_and_renewal_refused(lib, clock, settings):
    async with lib() as (runtime, client):
        a = await register(client, CARD_A, "赵晓彤")
        b = await register(client, CARD_B, "张晓森", user="resident:zhang-xiaosen")
        await checkout(client, a, "ZHC-1")
        loan_id = (await client.get(f"/api/library/readers/{a}", headers=STAFF)).json()["loans"][0]["id"]
        r = await client.post(
            "/api/library/holds",
            headers=STAFF,
            json={"reader_id": b, "isbn": "9787020002207", "pickup_branch": "CN-SJZ-YH-MZHY"},
        )
        assert r.status_code == 201 and r.json()["status"] == "waiting"
        hold_id = r.json()["id"]
        r = await client.post(f"/api/library/loans/{loan_id}/renew", headers=STAFF)
        assert r.status_code == 409 and "预约" in r.json()["detail"]
        # returned at the home branch, but a hold waits elsewhere: in transit to the pickup branch
        r = await client.post(
            "/api/library/checkin", headers=STAFF, json={"barcode": "ZHC-1", "branch": "CN-SJZ-YH-ZHC"}
        )
        assert (r.json()["status"], r.json()["destination"], r.json()["hold_id"]) == (
            "in_transit",
            "CN-SJZ-YH-MZHY",
            hold_id,
        )
        r = await client.post(
            "/api/library/arrivals", headers=STAFF, json={"barcode": "ZHC-1", "branch": "CN-SJZ-YH-MZHY"}
        )
        assert r.json()["status"] == "awaiting_pickup"
        # someone else cannot take it from the hold shelf
        r = await checkout(client, a, "ZHC-1", branch="CN-SJZ-YH-MZHY")
        assert r.status_code == 409
        stream = f"{settings.stream_prefix}:library"
        ready = await eventually(lambda: events(settings.redis_url, stream, "HoldReady"))
        assert ready[0]["data"]["reader_user"] == "resident:zhang-xiaosen"
        assert ready[0]["data"]["pickup_branch_name"] == "明珠花苑漂流书屋"
        assert ready[0]["data"]["expires_at"].startswith("2026-12-05")
        # not collected within 7 days: the hold expires once and the copy goes home
        clock.advance(timedelta(days=7, minutes=1))
        assert tick(runtime.contexts["library"], clock.now()) == 1
        assert tick(runtime.contexts["library"], clock.now()) == 0
        copy = (await client.get("/api/library/copies/ZHC-1", headers=STAFF)).json()
        assert (copy["status"], copy["transit_to"]) == ("in_transit", "CN-SJZ-YH-ZHC")
        await eventually(lambda: events(settings.redis_url, stream, "HoldExpired"))


async def test_hold_at_checkin_branch_goes_on_shelf_and_holder_borrows(lib):
    async with lib() as (_rt, client):
        a = await register(client, CARD_A, "赵晓彤")
        b = await register(client, CARD_B, "张晓森", user="resident:zhao-xiaotong")
        await checkout(client, a, "ZHC-2")
        r = await client.post(
            "/api/library/holds", headers=RESIDENT, json={"isbn": "9787536692930", "pickup_branch": "CN-SJZ-YH-ZHC"}
        )
        assert r.status_code == 201, r.text
        r = await client.post(
            "/api/library/checkin", headers=STAFF, json={"barcode": "ZHC-2", "branch": "CN-SJZ-YH-ZHC"}
        )
        assert (r.json()["status"], r.json()["reason"]) == ("awaiting_pickup", "hold")
        r = await checkout(client, b, "ZHC-2")
        assert r.status_code == 201, r.text
        me = (await client.get("/api/library/readers/me", headers=RESIDENT)).json()
        assert me["holds"] == [] and [x["barcode"] for x in me["loans"]] == ["ZHC-2"]


async def test_renewal_once_and_policy_per_branch(lib):
    async with lib() as (_rt, client):
        a = await register(client, CARD_A, "赵晓彤", user="resident:zhao-xiaotong")
        loan = (await checkout(client, a, "ZHC-1")).json()
        r = await client.post(f"/api/library/loans/{loan['loan_id']}/renew", headers=RESIDENT)
        assert r.status_code == 200 and r.json()["due_at"] == "2027-01-27T10:00:00+08:00"
        r = await client.post(f"/api/library/loans/{loan['loan_id']}/renew", headers=RESIDENT)
        assert r.status_code == 409 and "续借次数" in r.json()["detail"]
        from tests.library.conftest import OPERATOR, OTHER_RESIDENT

        r = await client.post(f"/api/library/loans/{loan['loan_id']}/renew", headers=OTHER_RESIDENT)
        assert r.status_code == 404
        r = await client.put(
            "/api/library/policies",
            headers=OPERATOR,
            json={"branch": "CN-SJZ-YH-MZHY", "max_loans": 1, "loan_days": 14, "max_renewals": 0, "renewal_days": 14},
        )
        assert r.status_code == 200
        r = await checkout(client, a, "ZHC-2", branch="CN-SJZ-YH-MZHY")
        assert r.status_code == 409 and "最多同时借1本" in r.json()["detail"]
        # a reader group's rule: children borrow 2 books for 14 days, at any branch
        r = await client.put(
            "/api/library/policies",
            headers=OPERATOR,
            json={"reader_group": "child", "max_loans": 2, "loan_days": 14, "max_renewals": 1, "renewal_days": 14},
        )
        assert r.status_code == 200
        from tests.library.conftest import CARD_C

        r = await client.post(
            "/api/library/readers", headers=STAFF, json={"id_number": CARD_C, "name": "小明", "group": "child"}
        )
        child = r.json()["id"]
        first = await checkout(client, child, "ZHC-3")
        assert first.json()["due_at"] == "2026-12-12T10:00:00+08:00"
        assert (await checkout(client, child, "ZHC-4")).status_code == 201
        r = await checkout(client, child, "ZHC-5")
        assert r.status_code == 409 and "最多同时借2本" in r.json()["detail"]
        r = await client.put(
            "/api/library/policies",
            headers=STAFF,
            json={"max_loans": 1, "loan_days": 1, "max_renewals": 0, "renewal_days": 1},
        )
        assert r.status_code == 403


@pytest.mark.parametrize(
    "change,status,expect",
    [
        ("missing", 200, "missing"),
        ("checked_out", 422, "借还流程"),
        ("lost", 409, "不能从"),
    ],
)
async def test_copy_status_changes(lib, change, status, expect):
    async with lib() as (_rt, client):
        r = await client.post("/api/library/copies/ZHC-4/status", headers=STAFF, json={"status": change})
        assert r.status_code == status, r.text
        assert expect in r.text
        r = await client.post("/api/library/copies/ZHC-4/status", headers=RESIDENT, json={"status": change})
        assert r.status_code == 403


async def test_withdrawn_copy_cannot_change_or_lend(lib):
    async with lib() as (_rt, client):
        a = await register(client, CARD_A, "赵晓彤")
        assert (
            await client.post("/api/library/copies/ZHC-5/status", headers=STAFF, json={"status": "withdrawn"})
        ).status_code == 200
        r = await checkout(client, a, "ZHC-5")
        assert r.status_code == 409 and "已剔旧" in r.json()["detail"]
        r = await client.post("/api/library/copies/ZHC-5/status", headers=STAFF, json={"status": "available"})
        assert r.status_code == 409


async def test_holds_are_served_in_the_order_placed(lib, clock):
    from tests.library.conftest import CARD_C

    async with lib() as (_rt, client):
        a = await register(client, CARD_A, "赵晓彤")
        b = await register(client, CARD_B, "张晓森")
        c = await register(client, CARD_C, "刘秀琴")
        await checkout(client, a, "ZHC-2")
        holds = []
        for reader in (c, b):  # 刘秀琴 first, then 张晓森
            r = await client.post(
                "/api/library/holds",
                headers=STAFF,
                json={"reader_id": reader, "isbn": "9787536692930", "pickup_branch": "CN-SJZ-YH-ZHC"},
            )
            holds.append(r.json()["id"])
            clock.advance(timedelta(minutes=1))
        r = await client.post(
            "/api/library/checkin", headers=STAFF, json={"barcode": "ZHC-2", "branch": "CN-SJZ-YH-ZHC"}
        )
        assert (r.json()["status"], r.json()["hold_id"]) == ("awaiting_pickup", holds[0])
        assert (await checkout(client, b, "ZHC-2")).status_code == 409  # not 张晓森's turn
        assert (await checkout(client, c, "ZHC-2")).status_code == 201
        r = await client.post(
            "/api/library/checkin", headers=STAFF, json={"barcode": "ZHC-2", "branch": "CN-SJZ-YH-ZHC"}
        )
        assert r.json()["hold_id"] == holds[1]
