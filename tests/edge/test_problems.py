"""Errors the frame answers for every service, seen as a client sees them."""

from __future__ import annotations

import psycopg

from tests.conftest import token

STAFF = token("staff:li-yao", "staff")


async def test_an_unreachable_store_is_a_503_outage_not_a_500(
    start_runtime, pg_database, postgres_admin_url, monkeypatch
):
    url = pg_database("outage")
    monkeypatch.setenv("TICKETS_DATABASE_URL", url)
    async with start_runtime(["tickets"]) as (_runtime, client):
        assert (await client.get("/api/tickets/categories", headers=STAFF)).status_code == 200
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:  # the store goes away
            conn.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        r = await client.get("/api/tickets/categories", headers=STAFF)
        assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "unavailable" and r.headers["retry-after"] == "5"
        assert "psycopg" not in r.text and url not in r.text


async def test_validation_messages_follow_accept_language_and_never_echo(start_runtime):
    """``1e400`` is infinity to a JSON parser: refused by field, in the caller's language, the input not repeated."""
    raw = b'{"rating": 1e400, "comment": "secret-42"}'
    resident = {**token("resident:a", "resident"), "Content-Type": "application/json"}
    async with start_runtime(["tickets"]) as (_runtime, client):
        zh = await client.post("/api/tickets/tickets/T1/rate", headers=resident, content=raw)
        en = await client.post(
            "/api/tickets/tickets/T1/rate", headers={**resident, "Accept-Language": "en, zh;q=0.5"}, content=raw
        )
    for r in (zh, en):
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        assert "secret-42" not in r.text and "inf" not in r.text.lower()
        assert [e["field"] for e in r.json()["errors"]] == ["body.rating"]
    assert zh.json()["title"] == "输入无效" and en.json()["title"] == "Invalid input"
    assert zh.json()["errors"][0]["message"] != en.json()["errors"][0]["message"]


async def test_an_unknown_field_is_named_by_where_it_is_not_by_what_the_client_wrote(start_runtime):
    """A key the model does not declare is the client's text: the problem says ``body.*``, never the key."""
    resident = {**token("resident:a", "resident"), "Content-Type": "application/json"}
    raw = '{"rating": 5, "<img src=x onerror=alert(1)>": 1, "身份证号110101199003077777": 2}'.encode()
    async with start_runtime(["tickets"]) as (_runtime, client):
        r = await client.post("/api/tickets/tickets/T1/rate", headers=resident, content=raw)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"body.*"}
    assert "onerror" not in r.text and "110101" not in r.text
