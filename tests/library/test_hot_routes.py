"""The desk's check-out by ID card and a reader's own card, on SQLite and on PostgreSQL: what is stored,
published, logged and shown (these two routes read and write through the driver on SQLite)."""

import pytest
from sqlalchemy import select

from services.library.adapters.orm import Copy, Hold, Loan, access_log
from tests.conftest import eventually
from tests.library.conftest import CARD_A, CARD_B, RESIDENT, STAFF, checkout, events, register

ZHC, MZHY = "CN-SJZ-YH-ZHC", "CN-SJZ-YH-MZHY"


def rows(runtime, statement):
    with runtime.contexts["library"].store.transaction(readonly=True) as session:
        return [tuple(row) for row in session.execute(statement)]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_checkout_by_card_stores_publishes_logs_and_shows(
    lib, clock, settings, backend, monkeypatch, pg_database
):
    if backend == "postgresql":
        monkeypatch.setenv("LIBRARY_DATABASE_URL", pg_database("library"))
    async with lib() as (runtime, client):
        reader = await register(client, CARD_A, "赵晓彤", user="resident:zhao-xiaotong")
        body = {"card": CARD_A, "barcode": "ZHC-1", "branch": ZHC}
        r = await client.post("/api/library/checkout", headers=STAFF, json=body)
        assert r.status_code == 201, r.text
        lent = r.json()
        assert lent == {
            "loan_id": lent["loan_id"],
            "barcode": "ZHC-1",
            "title": "红楼梦",
            "reader_id": reader,
            "card": "110105********002X",
            "branch": ZHC,
            "due_at": "2026-12-28T10:00:00+08:00",
        }
        assert lent["loan_id"].startswith("L")
        # the loan as stored, and the copy lent from this desk
        (loan,) = rows(
            runtime,
            select(
                Loan.id, Loan.barcode, Loan.reader_id, Loan.branch, Loan.renewals, Loan.returned_at, Loan.overdue_stage
            ),
        )
        assert loan == (lent["loan_id"], "ZHC-1", reader, ZHC, 0, None, 0)
        copy = (await client.get("/api/library/copies/ZHC-1", headers=STAFF)).json()
        assert (copy["status"], copy["location"], copy["transit_to"], copy["hold_id"]) == (
            "checked_out",
            ZHC,
            None,
            None,
        )
        (updated,) = rows(runtime, select(Copy.updated_at, Copy.transit_since).where(Copy.barcode == "ZHC-1"))
        assert updated[0].replace(tzinfo=None) == clock.now().replace(tzinfo=None) and updated[1] is None
        # the reader sees it on their card
        me = (await client.get("/api/library/readers/me", headers=RESIDENT)).json()
        assert me["loans"] == [
            {"id": lent["loan_id"], "barcode": "ZHC-1", "due_at": "2026-12-28T10:00:00+08:00", "renewals": 0}
        ]
        assert (me["id"], me["card"], me["overdue"], me["holds"]) == (reader, "110105********002X", 0, [])
        # the desk's read of the card is in the access log (not the reader's own read of it)
        logged = rows(runtime, select(access_log.table.c.actor, access_log.table.c.purpose))
        assert logged == [("staff:li-yao", "POST /api/library/readers"), ("staff:li-yao", "POST /api/library/checkout")]
        # the event, without the ID number
        stream = f"{settings.stream_prefix}:library"
        (published,) = await eventually(lambda: events(settings.redis_url, stream, "BookCheckedOut"))
        data = published["data"]
        assert (data["loan_id"], data["barcode"], data["isbn"], data["title"], data["branch"]) == (
            lent["loan_id"],
            "ZHC-1",
            "9787020002207",
            "红楼梦",
            ZHC,
        )
        assert (data["reader_id"], data["reader_user"], data["reader_masked"]) == (
            reader,
            "resident:zhao-xiaotong",
            None,
        )
        assert published["subject"] == lent["loan_id"] and CARD_A not in str(published)
        # the same copy again, an unknown card, a malformed one
        r = await client.post("/api/library/checkout", headers=STAFF, json=body)
        assert r.status_code == 409
        r = await client.post("/api/library/checkout", headers=STAFF, json={**body, "card": CARD_B})
        assert r.status_code == 404
        r = await client.post("/api/library/checkout", headers=STAFF, json={**body, "card": CARD_A[:-1] + "1"})
        assert r.status_code == 422
        assert len(rows(runtime, select(Loan.id))) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_holder_takes_the_copy_off_the_hold_shelf_and_sees_it(lib, backend, monkeypatch, pg_database):
    if backend == "postgresql":
        monkeypatch.setenv("LIBRARY_DATABASE_URL", pg_database("library"))
    async with lib() as (runtime, client):
        other = await register(client, CARD_B, "张晓森")
        holder = await register(client, CARD_A, "赵晓彤", user="resident:zhao-xiaotong")
        assert (await checkout(client, other, "ZHC-2")).status_code == 201
        assert (await checkout(client, holder, "ZHC-1")).status_code == 201
        r = await client.post(
            "/api/library/holds", headers=RESIDENT, json={"isbn": "9787536692930", "pickup_branch": ZHC}
        )
        assert r.status_code == 201, r.text
        hold_id = r.json()["id"]
        me = (await client.get("/api/library/readers/me", headers=RESIDENT)).json()
        assert [(h["id"], h["status"], h["barcode"]) for h in me["holds"]] == [(hold_id, "waiting", None)]
        r = await client.post("/api/library/checkin", headers=STAFF, json={"barcode": "ZHC-2", "branch": ZHC})
        assert r.json()["status"] == "awaiting_pickup"
        me = (await client.get("/api/library/readers/me", headers=RESIDENT)).json()
        assert [(h["id"], h["status"], h["barcode"]) for h in me["holds"]] == [(hold_id, "ready", "ZHC-2")]
        assert me["holds"][0]["expires_at"].endswith("+08:00")
        # not for another reader; the holder takes it, at any desk
        r = await client.post(
            "/api/library/checkout", headers=STAFF, json={"card": CARD_B, "barcode": "ZHC-2", "branch": ZHC}
        )
        assert r.status_code == 409 and r.json()["code"] == "held_for_other"
        r = await client.post(
            "/api/library/checkout", headers=STAFF, json={"card": CARD_A, "barcode": "ZHC-2", "branch": MZHY}
        )
        assert r.status_code == 201, r.text
        assert rows(runtime, select(Hold.status, Hold.closed_at.is_not(None)).where(Hold.id == hold_id)) == [
            ("fulfilled", True)
        ]
        copy = (await client.get("/api/library/copies/ZHC-2", headers=STAFF)).json()
        assert (copy["status"], copy["location"], copy["hold_id"]) == ("checked_out", MZHY, None)
        me = (await client.get("/api/library/readers/me", headers=RESIDENT)).json()
        assert sorted(loan["barcode"] for loan in me["loans"]) == ["ZHC-1", "ZHC-2"] and me["holds"] == []
