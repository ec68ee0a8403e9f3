"""Who may call what (an allowed and a refused caller per role rule), demo data, staff reports, hold cancel."""

import pytest

from services.library.jobs import tick
from tests.conftest import token
from tests.library.conftest import CARD_A, CARD_B, OPERATOR, OTHER_RESIDENT, RESIDENT, STAFF, checkout, register

VOLUNTEER = token("volunteer:liu", "volunteer")


@pytest.mark.parametrize(
    "method,path,body,allowed,refused",
    [
        (
            "put",
            "/api/library/policies",
            {"max_loans": 3, "loan_days": 30, "max_renewals": 1, "renewal_days": 30},
            OPERATOR,
            STAFF,
        ),
        ("post", "/api/library/partners/CN-SJZ-LIB/keys", None, OPERATOR, STAFF),
        ("get", "/api/library/reports/in-transit", None, STAFF, RESIDENT),
        ("get", "/api/library/reports/loans-by-branch", None, OPERATOR, VOLUNTEER),
        ("get", "/api/library/readers/me", None, RESIDENT, STAFF),
        ("get", "/api/library/titles/9787020002207", None, RESIDENT, VOLUNTEER),
        ("get", "/api/library/branches", None, STAFF, VOLUNTEER),
    ],
)
async def test_role_rules(lib, method, path, body, allowed, refused):
    async with lib() as (_rt, client):
        if allowed is RESIDENT:
            await client.post("/api/library/readers/me", headers=RESIDENT, json={"id_number": CARD_A, "name": "赵晓彤"})
        kwargs = {"json": body} if body is not None else {}
        r = await getattr(client, method)(path, headers=allowed, **kwargs)
        assert r.status_code in (200, 201), r.text
        r = await getattr(client, method)(path, headers=refused, **kwargs)
        assert r.status_code == 403
        r = await getattr(client, method)(path, **kwargs)
        assert r.status_code == 401


async def test_holds_queue_in_order_cancel_and_reports(lib, clock):
    async with lib() as (runtime, client):
        a = await register(client, CARD_A, "赵晓彤", user="resident:zhao-xiaotong")
        b = await register(client, CARD_B, "张晓森", user="resident:zhang-xiaosen")
        await checkout(client, a, "ZHC-1")
        first = await client.post(
            "/api/library/holds",
            headers=OTHER_RESIDENT,
            json={"isbn": "9787020002207", "pickup_branch": "CN-SJZ-YH-MZHY"},
        )
        assert first.status_code == 201, first.text
        r = await client.post(
            "/api/library/holds",
            headers=OTHER_RESIDENT,
            json={"isbn": "9787020002207", "pickup_branch": "CN-SJZ-YH-MZHY"},
        )
        assert r.status_code == 409  # one hold per title
        r = await client.delete(f"/api/library/holds/{first.json()['id']}", headers=RESIDENT)
        assert r.status_code == 404  # not hers
        report = (await client.get("/api/library/reports/holds", headers=STAFF)).json()["items"]
        assert [(h["reader_id"], h["status"]) for h in report] == [(b, "waiting")]
        by_branch = (await client.get("/api/library/reports/loans-by-branch", headers=STAFF)).json()["items"]
        assert by_branch == [{"branch": "CN-SJZ-YH-ZHC", "open_loans": 1}]
        r = await client.delete(f"/api/library/holds/{first.json()['id']}", headers=OTHER_RESIDENT)
        assert r.json()["status"] == "cancelled"
        assert (await client.get("/api/library/reports/holds", headers=STAFF)).json()["items"] == []
        # with the hold gone, the book can be renewed again
        loan = (await client.get("/api/library/readers/me", headers=RESIDENT)).json()["loans"][0]["id"]
        assert (await client.post(f"/api/library/loans/{loan}/renew", headers=RESIDENT)).status_code == 200
        assert tick(runtime.contexts["library"], clock.now()) == 0


async def test_demo_loads_twice_and_lends(start_runtime, clock):
    async with start_runtime(["library"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["library"]
        ctx.module.demo(ctx)
        ctx.module.demo(ctx)
        branches = {b["code"]: b for b in (await client.get("/api/library/branches", headers=STAFF)).json()["items"]}
        assert branches["CN-SJZ-YH-ZHC"]["name"] == "智汇城漂流书屋"
        assert {"CN-SJZ-LIB", "CN-SJZ-YHLIB"} <= set(branches)
        title = (await client.get("/api/library/titles/9787536692930", headers=STAFF)).json()
        assert title["title"] == "三体" and len(title["copies"]) == 2
        r = await client.post(
            "/api/library/checkout",
            headers=STAFF,
            json={"card": CARD_A, "barcode": "ZHC-0001", "branch": "CN-SJZ-YH-ZHC"},
        )
        assert r.status_code == 201, r.text
        me = (await client.get("/api/library/readers/me", headers=RESIDENT)).json()
        assert [x["barcode"] for x in me["loans"]] == ["ZHC-0001"]
