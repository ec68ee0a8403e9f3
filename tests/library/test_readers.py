"""Readers: the national ID number as reader card (GB 11643 check), stored only hashed and masked."""

import sqlite3

import pytest

from tests.conftest import eventually, token
from tests.library.conftest import CARD_A, OPERATOR, RESIDENT, STAFF, events


def _variants(card: str):
    """Every single-character change of the card: each position gets a different digit."""
    for i, ch in enumerate(card):
        digit = "0" if ch == "X" else str((int(ch) + 1) % 10)
        yield i, card[:i] + digit + card[i + 1 :]


async def test_id_number_check_digit_and_any_changed_digit(lib, settings):
    async with lib() as (_rt, client):
        r = await client.post("/api/library/readers", headers=STAFF, json={"id_number": CARD_A, "name": "赵晓彤"})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["card"] == "110105********002X"
        assert CARD_A not in r.text
        for i, wrong in _variants(CARD_A):
            r = await client.post("/api/library/readers", headers=STAFF, json={"id_number": wrong, "name": "某"})
            assert r.status_code == 422, (i, wrong, r.text)
            assert "/" in r.json()["detail"] and ("校验码" in r.json()["detail"] or "出生日期" in r.json()["detail"])
        r = await client.post("/api/library/readers", headers=STAFF, json={"id_number": "1101051949", "name": "某"})
        assert r.status_code == 422 and "18" in r.json()["detail"]
        for body in (
            {"id_number": 11010519491231002, "name": "某"},
            {"id_number": CARD_A[:17] + "99999", "name": "某"},
            {"id_number": CARD_A},
        ):
            r = await client.post("/api/library/readers", headers=STAFF, json=body)
            assert r.status_code == 422 and "11010519491231002" not in r.text  # never echoed back
        r = await client.post("/api/library/readers", headers=STAFF, json={"id_number": CARD_A, "name": "又一次"})
        assert r.status_code == 409


async def test_raw_id_number_is_never_stored_or_published(lib, settings):
    async with lib() as (_rt, client):
        r = await client.post(
            "/api/library/readers",
            headers=STAFF,
            json={"id_number": CARD_A, "name": "赵晓彤", "user": "resident:zhao-xiaotong"},
        )
        reader_id = r.json()["id"]
        r = await client.post(f"/api/library/readers/{reader_id}/block", headers=STAFF, json={"reason": "测试"})
        assert r.status_code == 200
        r = await client.post(
            "/api/library/checkout", headers=STAFF, json={"card": CARD_A, "barcode": "ZHC-1", "branch": "CN-SJZ-YH-ZHC"}
        )
        assert r.status_code == 409 and "停借" in r.json()["detail"]
        await client.delete(f"/api/library/readers/{reader_id}/block", headers=STAFF)
        r = await client.post(
            "/api/library/checkout", headers=STAFF, json={"card": CARD_A, "barcode": "ZHC-1", "branch": "CN-SJZ-YH-ZHC"}
        )
        assert r.status_code == 201, r.text
        assert r.json()["card"] == "110105********002X"
        stream = f"{settings.stream_prefix}:library"
        await eventually(lambda: events(settings.redis_url, stream, "BookCheckedOut"))
    db = b"".join(f.read_bytes() for f in settings.var_dir.glob("library.db*"))  # with any WAL left
    assert b"110105********002X" in db  # the masked form is there, so the search is meaningful
    assert CARD_A.encode() not in db and CARD_A[:17].encode() not in db
    published = events(settings.redis_url, f"{settings.stream_prefix}:library")
    assert {e["type"].split(".")[-2] for e in published} >= {"ReaderBlocked", "ReaderUnblocked", "BookCheckedOut"}
    for e in published:
        assert CARD_A not in str(e)
    checked_out = next(e for e in published if e["type"].endswith("BookCheckedOut.v1"))
    assert checked_out["data"]["reader_masked"] is None  # not even the masked number travels
    assert checked_out["data"]["reader_user"] == "resident:zhao-xiaotong"
    rows = sqlite3.connect(settings.var_dir / "library.db").execute("select id_hash, id_masked from reader").fetchall()
    assert rows[0][1] == "110105********002X" and len(rows[0][0]) == 64


async def test_resident_registers_self_and_uses_qr(lib):
    async with lib() as (_rt, client):
        r = await client.post("/api/library/readers/me", headers=RESIDENT, json={"id_number": CARD_A, "name": "赵晓彤"})
        assert r.status_code == 201, r.text
        assert r.json()["user"] == "resident:zhao-xiaotong"
        qr = (await client.post("/api/library/readers/me/qr", headers=RESIDENT)).json()["qr"]
        r = await client.post(
            "/api/library/checkout", headers=STAFF, json={"qr": qr, "barcode": "ZHC-2", "branch": "CN-SJZ-YH-ZHC"}
        )
        assert r.status_code == 201, r.text
        me = (await client.get("/api/library/readers/me", headers=RESIDENT)).json()
        assert [loan["barcode"] for loan in me["loans"]] == ["ZHC-2"]
        assert me["card"] == "110105********002X"


@pytest.mark.parametrize("headers,status", [({}, 401), (RESIDENT, 403), (token("v:1", "volunteer"), 403)])
async def test_reader_routes_refuse_wrong_roles(lib, headers, status):
    async with lib() as (_rt, client):
        r = await client.post("/api/library/readers", headers=headers, json={"id_number": CARD_A, "name": "某"})
        assert r.status_code == status
        r = await client.post(
            "/api/library/checkout",
            headers=headers,
            json={"reader_id": "R1", "barcode": "ZHC-1", "branch": "CN-SJZ-YH-ZHC"},
        )
        assert r.status_code == status
        r = await client.put(
            "/api/library/branches/X", headers=headers | ({} if headers else {}), json={"name": "x", "institution": "x"}
        )
        assert r.status_code == status
        r = await client.put("/api/library/branches/X", headers=STAFF, json={"name": "x", "institution": "x"})
        assert r.status_code == 403  # branches are the operator's
        r = await client.put("/api/library/branches/X", headers=OPERATOR, json={"name": "x", "institution": "x"})
        assert r.status_code == 200
