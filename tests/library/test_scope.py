"""Scope in the library (issue 15): staff by the communities of their book houses, residents only their own,
and the access log of every staff read of a reader's identity (never the values)."""

from __future__ import annotations

from sqlalchemy import select

from services.library.adapters.orm import access_log
from tests.conftest import token
from tests.library.conftest import CARD_A, CARD_B, OPERATOR, OTHER_RESIDENT, RESIDENT, STAFF, checkout, register

ZHC, MZHY = "CN-SJZ-YH-ZHC", "CN-SJZ-YH-MZHY"
STAFF_ZHC = token("staff:wu-min", "staff", communities=["智汇城"])
STAFF_MZHY = token("staff:he-ping", "staff", communities=["明珠花苑"])


async def put_communities(client) -> None:
    for code, name, community in ((ZHC, "智汇城漂流书屋", "智汇城"), (MZHY, "明珠花苑漂流书屋", "明珠花苑")):
        r = await client.put(
            f"/api/library/branches/{code}",
            headers=OPERATOR,
            json={"name": name, "institution": "LINLI", "community": community},
        )
        assert r.status_code == 200, r.text


async def test_staff_work_only_at_the_book_houses_of_their_communities(lib):
    async with lib() as (_rt, client):
        await put_communities(client)
        reader = await register(client, CARD_A, "赵晓彤", user="resident:zhao-xiaotong")
        lent = await checkout(client, reader, "ZHC-1")
        assert lent.status_code == 201, lent.text
        loan_id = lent.json()["loan_id"]

        # 明珠花苑's staff cannot lend, take returns or add copies at 智汇城
        r = await client.post(
            "/api/library/checkout", headers=STAFF_MZHY, json={"reader_id": reader, "barcode": "ZHC-2", "branch": ZHC}
        )
        assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
        r = await client.post("/api/library/checkin", headers=STAFF_MZHY, json={"barcode": "ZHC-1", "branch": ZHC})
        assert r.status_code == 403
        r = await client.post(
            "/api/library/copies",
            headers=STAFF_MZHY,
            json={"barcode": "ZHC-9", "isbn": "9787020002207", "home_branch": ZHC},
        )
        assert r.status_code == 403
        r = await client.post("/api/library/copies/ZHC-2/status", headers=STAFF_MZHY, json={"status": "missing"})
        assert r.status_code == 403
        # nor renew a loan lent there, nor see it in their reports
        r = await client.post(f"/api/library/loans/{loan_id}/renew", headers=STAFF_MZHY)
        assert r.status_code == 404
        loans = (await client.get("/api/library/reports/loans-by-branch", headers=STAFF_MZHY)).json()
        assert loans["items"] == []
        # nor place a hold for pickup there
        r = await client.post(
            "/api/library/holds",
            headers=STAFF_MZHY,
            json={"reader_id": reader, "isbn": "9787020002207", "pickup_branch": ZHC},
        )
        assert r.status_code == 403
        # 智汇城's staff can, and see their branch in the reports
        renewed = await client.post(f"/api/library/loans/{loan_id}/renew", headers=STAFF_ZHC)
        assert renewed.status_code == 200, renewed.text
        loans = (await client.get("/api/library/reports/loans-by-branch", headers=STAFF_ZHC)).json()
        assert loans["items"] == [{"branch": ZHC, "open_loans": 1}]
        back = await client.post("/api/library/checkin", headers=STAFF_ZHC, json={"barcode": "ZHC-1", "branch": ZHC})
        assert back.status_code == 200, back.text
        # a reader's card is city-wide: any staff member may look a reader up (and it is logged)
        found = await client.post("/api/library/readers/lookup", headers=STAFF_MZHY, json={"card": CARD_A})
        assert found.status_code == 200 and found.json()["id"] == reader


async def test_residents_reach_only_their_own_loans_and_holds(lib):
    async with lib() as (_rt, client):
        mine = await register(client, CARD_A, "赵晓彤", user="resident:zhao-xiaotong")
        await register(client, CARD_B, "张晓森", user="resident:zhang-xiaosen")
        loan_id = (await checkout(client, mine, "ZHC-1")).json()["loan_id"]
        r = await client.post(f"/api/library/loans/{loan_id}/renew", headers=OTHER_RESIDENT)
        assert r.status_code == 404
        hold = await client.post(
            "/api/library/holds", headers=RESIDENT, json={"isbn": "9787536692930", "pickup_branch": ZHC}
        )
        assert hold.status_code == 201, hold.text
        # a resident cannot place a hold for another reader by naming them
        other = await client.post(
            "/api/library/holds",
            headers=OTHER_RESIDENT,
            json={"reader_id": mine, "isbn": "9787506365437", "pickup_branch": ZHC},
        )
        assert other.status_code == 201 and other.json()["id"] != hold.json()["id"]
        me = (await client.get("/api/library/readers/me", headers=RESIDENT)).json()
        assert [h["isbn"] for h in me["holds"]] == ["9787536692930"]
        r = await client.delete(f"/api/library/holds/{hold.json()['id']}", headers=OTHER_RESIDENT)
        assert r.status_code == 404
        assert (await client.get("/api/library/access-log", headers=RESIDENT)).status_code == 403


async def test_staff_reads_of_a_reader_are_in_the_access_log_without_the_id_number(lib):
    async with lib() as (runtime, client):
        await put_communities(client)
        reader = await register(client, CARD_A, "赵晓彤")
        assert (
            await client.post("/api/library/readers/lookup", headers=STAFF_MZHY, json={"card": CARD_A})
        ).status_code == 200
        r = await client.post(
            "/api/library/checkout", headers=STAFF_ZHC, json={"card": CARD_A, "barcode": "ZHC-1", "branch": ZHC}
        )
        assert r.status_code == 201, r.text
        assert (await client.get(f"/api/library/readers/{reader}", headers=STAFF_ZHC)).status_code == 200

        everything = (await client.get("/api/library/access-log", headers=OPERATOR)).json()["items"]
        assert [(e["actor"], e["purpose"]) for e in everything] == [
            ("staff:wu-min", "GET /api/library/readers/{reader_id}"),
            ("staff:wu-min", "POST /api/library/checkout"),
            ("staff:he-ping", "POST /api/library/readers/lookup"),
            ("staff:li-yao", "POST /api/library/readers"),
        ]
        assert all(e["subject_id"] == reader and e["fields"] == ["reader_identity"] for e in everything)
        assert everything[1]["community"] == "智汇城"
        # staff see their communities' entries and their own reads
        theirs = (await client.get("/api/library/access-log", headers=STAFF_MZHY)).json()["items"]
        assert [e["actor"] for e in theirs] == ["staff:he-ping"]
        zhc = (await client.get("/api/library/access-log", headers=STAFF_ZHC, params={"reader_id": reader})).json()
        assert [e["purpose"] for e in zhc["items"]] == [
            "GET /api/library/readers/{reader_id}",
            "POST /api/library/checkout",
        ]
        # the log holds no ID number, masked or not
        with runtime.contexts["library"].store.transaction() as session:
            stored = [str(tuple(row)) for row in session.execute(select(access_log.table))]
        assert len(stored) == 4
        assert not any(CARD_A in row or CARD_A[-4:] in row or "赵晓彤" in row for row in stored)
        # city-wide staff see every entry
        assert (await client.get("/api/library/access-log", headers=STAFF)).json()["items"] == everything
