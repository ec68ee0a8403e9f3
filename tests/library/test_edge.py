"""The library's HTTP edge: every class of bad input is a 4xx problem+json with a stable code, the input is
never echoed (bodies carry national ID numbers), and nothing is written."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis.asyncio as aredis
from sqlalchemy import func, select

from services.library.adapters.orm import Branch, Loan, LoanPolicy, PartnerKey, Reader
from services.library.domain import signature
from tests.library.conftest import CARD_A, CARD_B, OPERATOR, RESIDENT, STAFF, checkout, register

PROBLEM = "application/problem+json"


def assert_problem(r, status: int, code: str, *hidden: str) -> dict:
    """``r`` is a problem+json of ``status`` with ``code``, and none of ``hidden`` appears anywhere in it."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers["content-type"]
    problem = r.json()
    assert problem["status"] == status and problem["code"] == code, problem
    for value in hidden:
        assert value not in r.text, f"{value!r} echoed in {r.text}"
    return problem


def count(runtime, model) -> int:
    with runtime.contexts["library"].store.transaction(readonly=True) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


async def test_malformed_id_numbers_are_never_echoed_and_nothing_is_stored(lib):
    digits = CARD_A[:14]  # the part of the number that identifies a person
    async with lib() as (runtime, client):
        bodies = [
            ({"id_number": CARD_A + "0" * 40, "name": "某"}, "invalid"),  # over the length limit
            ({"id_number": int(CARD_A[:17]), "name": "某"}, "invalid"),  # a number, not text
            ({"id_number": [CARD_A], "name": "某"}, "invalid"),
            ({"id_number": CARD_A[:17] + "\u0000", "name": "某"}, "invalid"),  # a control character
            ({"id_number": CARD_A, "name": "某", "admin": True}, "invalid"),  # an unknown field
            ({"id_number": CARD_A[:17] + "9", "name": "某"}, "bad_id_number"),  # wrong check character
            ({"id_number": CARD_A[:16] + "ABC", "name": "某"}, "bad_id_number"),
        ]
        for body, code in bodies:
            r = await client.post("/api/library/readers", headers=STAFF, json=body)
            problem = assert_problem(r, 422, code, digits)
            assert code != "invalid" or problem["errors"], problem
            r = await client.post("/api/library/readers/me", headers=RESIDENT, json=body)
            assert_problem(r, 422, code, digits)
        assert count(runtime, Reader) == 0
        reader = await register(client, CARD_B, "张晓森")
        for card, code in (
            (CARD_A + "0" * 40, "invalid"),
            (int(CARD_A[:17]), "invalid"),
            (CARD_A[:17] + "9", "bad_id_number"),
        ):
            body = {"card": card, "barcode": "ZHC-1", "branch": "CN-SJZ-YH-ZHC"}
            assert_problem(await client.post("/api/library/checkout", headers=STAFF, json=body), 422, code, digits)
            r = await client.post("/api/library/readers/lookup", headers=STAFF, json={"card": card})
            assert_problem(r, 422, code, digits)
        body = {"card": CARD_A, "reader_id": reader, "barcode": "ZHC-1", "branch": "CN-SJZ-YH-ZHC"}
        assert_problem(
            await client.post("/api/library/checkout", headers=STAFF, json=body), 422, "one_identifier", digits
        )
        assert count(runtime, Loan) == 0 and count(runtime, Reader) == 1


@pytest.mark.parametrize("field", ["max_loans", "loan_days", "max_renewals", "renewal_days"])
async def test_infinite_or_out_of_range_numbers_are_refused(lib, field):
    policy = {"max_loans": 3, "loan_days": 30, "max_renewals": 1, "renewal_days": 30}
    async with lib() as (runtime, client):
        for raw in ("1e400", "-1e400", "NaN", "2.5", str(2**70), '"lots"'):
            text = json.dumps(policy).replace(f'"{field}": {policy[field]}', f'"{field}": {raw}')
            r = await client.put(
                "/api/library/policies", headers=OPERATOR | {"content-type": "application/json"}, content=text
            )
            problem = assert_problem(r, 422, "invalid", "1e400", "Infinity", str(2**70), "lots", "2.5")
            assert all("input" not in e for e in problem["errors"])
            assert [e["field"] for e in problem["errors"]] == [f"body.{field}"], problem
        assert count(runtime, LoanPolicy) == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_path_ids_out_of_range_or_malformed_are_422(lib, backend, monkeypatch, pg_database):
    if backend == "postgresql":  # where a code longer than its column fails the insert
        monkeypatch.setenv("LIBRARY_DATABASE_URL", pg_database("library"))
    huge = "9" * 100
    async with lib() as (runtime, client):
        branches, keys = count(runtime, Branch), count(runtime, PartnerKey)
        calls = [
            ("post", f"/api/library/loans/{huge}/renew", STAFF, None),
            ("post", "/api/library/loans/L%20x/renew", RESIDENT, None),
            ("get", f"/api/library/readers/{huge}", STAFF, None),
            ("get", "/api/library/readers/R%00x", STAFF, None),
            ("post", f"/api/library/readers/{huge}/block", STAFF, {"reason": "x"}),
            ("delete", f"/api/library/readers/{huge}/block", STAFF, None),
            ("get", f"/api/library/copies/{'Z' * 33}", STAFF, None),
            ("post", f"/api/library/copies/{huge}/status", STAFF, {"status": "missing"}),
            ("get", f"/api/library/titles/{huge}", STAFF, None),
            ("get", "/api/library/titles/not-an-isbn", STAFF, None),
            ("delete", f"/api/library/holds/{huge}", STAFF, None),
            ("put", f"/api/library/branches/{'B' * 33}", OPERATOR, {"name": "x", "institution": "LINLI"}),
            ("put", "/api/library/branches/a%20b", OPERATOR, {"name": "x", "institution": "LINLI"}),
            ("post", f"/api/library/partners/{huge}/keys", OPERATOR, None),
            ("delete", f"/api/library/partners/CN-SJZ-LIB/keys/{huge}", OPERATOR, None),
            ("post", f"/api/library/partners/{huge}/events", {}, None),
        ]
        for method, path, headers, body in calls:
            kwargs = {"json": body} if body is not None else {}
            r = await client.request(method.upper(), path, headers=headers, **kwargs)
            problem = assert_problem(r, 422, "invalid", huge, "B" * 33, "Z" * 33)
            assert problem["errors"][0]["field"].startswith("path."), (path, problem)
        assert (count(runtime, Branch), count(runtime, PartnerKey)) == (branches, keys)
        # well-formed ids that name nothing are a plain 404
        r = await client.post("/api/library/loans/L000000000000/renew", headers=STAFF)
        assert_problem(r, 404, "not_found")


LISTS = [
    "/api/library/branches",
    "/api/library/partners",
    "/api/library/reports/loans-by-branch",
    "/api/library/reports/overdue",
    "/api/library/reports/in-transit",
    "/api/library/reports/holds",
]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_lists_are_cursor_pages_with_bounded_limits(lib, clock, backend, monkeypatch, pg_database):
    if backend == "postgresql":
        monkeypatch.setenv("LIBRARY_DATABASE_URL", pg_database("library"))
    async with lib() as (runtime, client):
        assert runtime.contexts["library"].store.url.startswith(backend)
        for path in LISTS:
            for query in ("limit=-1", "limit=0", "limit=100000", "limit=1e400", "cursor=%00"):
                r = await client.get(f"{path}?{query}", headers=STAFF)
                assert_problem(r, 422, "invalid", "100000", "1e400")
            r = await client.get(f"{path}?cursor=bm9wZQ", headers=STAFF)  # base64 of "nope"
            assert_problem(r, 422, "bad_cursor", "bm9wZQ")
        # a walk over the branches, two at a time: every branch once, in code order
        seen, cursor = [], None
        for _ in range(10):
            r = await client.get("/api/library/branches", headers=STAFF, params={"limit": 2, "cursor": cursor})
            assert r.status_code == 200 and len(r.json()["items"]) <= 2
            seen += [b["code"] for b in r.json()["items"]]
            cursor = r.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == sorted(seen) and len(seen) == len(set(seen)) == count(runtime, Branch) == 5
        # a report over rows with timestamps: the queue of holds, one per page
        a = await register(client, CARD_A, "赵晓彤")
        b = await register(client, CARD_B, "张晓森")
        holds = []
        for reader in (a, b):
            r = await client.post(
                "/api/library/holds",
                headers=STAFF,
                json={"reader_id": reader, "isbn": "9787020002207", "pickup_branch": "CN-SJZ-YH-MZHY"},
            )
            assert r.status_code == 201, r.text
            holds.append(r.json()["id"])
            clock.advance(timedelta(minutes=1))
        first = (await client.get("/api/library/reports/holds?limit=1", headers=STAFF)).json()
        assert [h["hold_id"] for h in first["items"]] == holds[:1] and first["next_cursor"]
        second = (
            await client.get(
                "/api/library/reports/holds", headers=STAFF, params={"limit": 1, "cursor": first["next_cursor"]}
            )
        ).json()
        assert [h["hold_id"] for h in second["items"]] == holds[1:] and second["next_cursor"] is None
        assert second["items"][0]["placed_at"].endswith("+08:00")
        # overdue loans, one per page, oldest first (a cursor holding a time)
        for reader, barcode in ((a, "ZHC-3"), (b, "ZHC-4")):
            assert (await checkout(client, reader, barcode)).status_code == 201
            clock.advance(timedelta(hours=1))
        clock.advance(timedelta(days=31))
        pages, cursor = [], None
        for _ in range(3):
            r = await client.get("/api/library/reports/overdue", headers=STAFF, params={"limit": 1, "cursor": cursor})
            assert r.status_code == 200, r.text
            pages.append([x["barcode"] for x in r.json()["items"]])
            cursor = r.json()["next_cursor"]
            if cursor is None:
                break
        assert pages == [["ZHC-3"], ["ZHC-4"]]


async def test_refusals_carry_stable_codes_and_write_nothing(lib):
    async with lib() as (runtime, client):
        reader = await register(client, CARD_A, "赵晓彤")
        for barcode in ("ZHC-1", "ZHC-2", "ZHC-3"):
            assert (await checkout(client, reader, barcode)).status_code == 201
        problem = assert_problem(await checkout(client, reader, "ZHC-4"), 409, "loan_limit")
        assert "最多同时借3本" in problem["detail"]
        r = await client.post("/api/library/readers", headers=STAFF, json={"id_number": CARD_A, "name": "又一次"})
        assert_problem(r, 409, "card_registered", CARD_A)
        r = await client.post(
            "/api/library/copies",
            headers=STAFF,
            json={"barcode": "ZHC-1", "isbn": "9787020002207", "home_branch": "CN-SJZ-YH-ZHC"},
        )
        assert_problem(r, 409, "barcode_taken")
        r = await client.put("/api/library/titles", headers=STAFF, json={"isbn": "9787536692931", "title": "三体"})
        assert_problem(r, 422, "bad_isbn", "9787536692931")
        assert (count(runtime, Loan), count(runtime, Reader)) == (3, 1)


async def test_partner_ingress_refusals_are_problems(lib, settings):
    async with lib() as (runtime, client):
        key = (await client.post("/api/library/partners/CN-SJZ-LIB/keys", headers=OPERATOR)).json()
        url = "/api/library/partners/CN-SJZ-LIB/events"
        body = json.dumps({"specversion": "1.0", "id": "e1", "source": "/partners/CN-SJZ-LIB", "type": "x"}).encode()
        now = str(int(runtime.contexts["library"].clock.now().timestamp()))
        r = await client.post(url, content=body, headers={"x-linli-timestamp": now, "x-linli-signature": "sha256=00"})
        assert_problem(r, 401, "bad_signature", "sha256=00")
        r = await client.post(url, content=body, headers={"x-linli-timestamp": "12", "x-linli-signature": "x"})
        assert_problem(r, 401, "stale_timestamp")
        r = await client.post(url, content=body, headers={"x-linli-timestamp": "9" * 40})
        assert_problem(r, 422, "invalid", "9" * 40)
        big = b"{" + b" " * (settings.max_event_bytes + 1) + b"}"
        r = await client.post(
            url,
            content=big,
            headers={"x-linli-timestamp": now, "x-linli-signature": signature.sign(key["secret"], now, big)},
        )
        assert_problem(r, 413, "event_too_large")
        r = await client.post("/api/library/partners/XX/events", content=body)
        assert_problem(r, 404, "no_partner")
        redis = aredis.Redis.from_url(settings.redis_url)
        try:
            assert await redis.xlen(f"{settings.stream_prefix}:partner:CN-SJZ-LIB:in") == 0
        finally:
            await redis.aclose()


async def test_every_write_documents_its_body_and_lists_their_pages(lib):
    async with lib() as (_runtime, client):
        document = (await client.get("/openapi.json")).json()
    for path, item in document["paths"].items():
        if not path.startswith("/api/library/"):
            continue
        for method, operation in item.items():
            if method in ("post", "put", "patch"):
                no_body = "(no body)" in operation.get("description", "") + operation.get("summary", "")
                assert "requestBody" in operation or no_body, f"{method} {path}"
            if method == "get" and path in LISTS:
                names = {p["name"] for p in operation.get("parameters", [])}
                assert {"limit", "cursor"} <= names, path
    for path in (
        "/api/library/readers/me/qr",
        "/api/library/loans/{loan_id}/renew",
        "/api/library/partners/{code}/keys",
    ):
        assert "(no body)" in document["paths"][path]["post"]["description"], path
