"""A resident's own card (``GET /readers/me``) on SQLite and on PostgreSQL: what she is shown (her open loans by
due date with the overdue count, her active holds by when placed, nobody else's), what is not logged, and that
it is read with one statement (the card, loans and holds together)."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from services.library.adapters.orm import access_log
from tests.conftest import token
from tests.library.conftest import CARD_A, CARD_B, OTHER_RESIDENT, RESIDENT, STAFF, checkout, register

ZHC = "CN-SJZ-YH-ZHC"
ME = "/api/library/readers/me"


@contextmanager
def selects(store):
    """The SELECTs the store's database is sent while inside (on SQLite its sqlite3 connection's own trace:
    reads on the hot paths go to the driver, past SQLAlchemy's events)."""
    sent: list[str] = []
    if store.engine.dialect.name == "sqlite":
        with store.reading() as connection:  # this thread's kept read connection: the route's too
            driver = connection.connection.driver_connection
        driver.set_trace_callback(sent.append)
        try:
            yield sent
        finally:
            driver.set_trace_callback(None)
    else:

        def seen(conn, cursor, statement, *args) -> None:
            sent.append(statement)

        event.listen(store.engine, "before_cursor_execute", seen)
        try:
            yield sent
        finally:
            event.remove(store.engine, "before_cursor_execute", seen)
    sent[:] = [s for s in sent if s.lstrip().upper().startswith("SELECT")]


def logged(store) -> int:
    with store.transaction(readonly=True) as session:
        return session.execute(select(func.count()).select_from(access_log.table)).scalar_one()


async def hold(client, headers, isbn: str) -> dict:
    r = await client.post("/api/library/holds", headers=headers, json={"isbn": isbn, "pickup_branch": ZHC})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_my_card_shows_my_open_loans_and_active_holds_in_one_read(lib, clock, backend, monkeypatch, pg_database):
    if backend == "postgresql":
        monkeypatch.setenv("LIBRARY_DATABASE_URL", pg_database("library"))
    async with lib() as (runtime, client):
        store = runtime.contexts["library"].store
        me = await register(client, CARD_A, "赵晓彤", user="resident:zhao-xiaotong")
        other = await register(client, CARD_B, "张晓森", user="resident:zhang-xiaosen")
        # three loans an hour apart (the last one returned), another reader's loan
        lent = []
        for barcode in ("ZHC-3", "ZHC-1", "ZHC-4"):
            r = await checkout(client, me, barcode)
            assert r.status_code == 201, r.text
            lent.append(r.json())
            clock.advance(timedelta(hours=1))
        assert (await checkout(client, other, "ZHC-2")).status_code == 201
        r = await client.post("/api/library/checkin", headers=STAFF, json={"barcode": "ZHC-4", "branch": ZHC})
        assert r.status_code == 200, r.text
        # her holds: one waiting (三体 is lent), one ready at once (百年孤独: the copy she returned is on the
        # shelf), one cancelled; the other reader's hold on her loan's title
        waiting = await hold(client, RESIDENT, "9787536692930")
        clock.advance(timedelta(minutes=1))
        ready = await hold(client, RESIDENT, "9787544253994")
        clock.advance(timedelta(minutes=1))
        cancelled = await hold(client, RESIDENT, "9787506365437")
        r = await client.delete(f"/api/library/holds/{cancelled['id']}", headers=RESIDENT)
        assert r.status_code == 200, r.text
        await hold(client, OTHER_RESIDENT, "9787020002207")
        assert (waiting["status"], ready["status"], ready["barcode"]) == ("waiting", "ready", "ZHC-4")
        # half an hour after the first loan fell due: one overdue
        clock.advance(timedelta(days=30) - timedelta(hours=2, minutes=32))
        before = logged(store)
        with selects(store) as sent:
            r = await client.get(ME, headers=RESIDENT)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "id": me,
            "name": "赵晓彤",
            "card": "110105********002X",
            "group": "adult",
            "user": "resident:zhao-xiaotong",
            "blocked": False,
            "blocked_reason": None,
            "overdue": 1,
            "loans": [
                {"id": lent[0]["loan_id"], "barcode": "ZHC-3", "due_at": "2026-12-28T10:00:00+08:00", "renewals": 0},
                {"id": lent[1]["loan_id"], "barcode": "ZHC-1", "due_at": "2026-12-28T11:00:00+08:00", "renewals": 0},
            ],
            "holds": [waiting, ready],
        }
        assert len(sent) == 1, sent  # the card, loans and holds in one read
        assert logged(store) == before  # her own read of her card is not in the access log
        # the other reader sees only hers; an account without a card: 404 problem
        theirs = (await client.get(ME, headers=OTHER_RESIDENT)).json()
        assert (theirs["id"], [x["barcode"] for x in theirs["loans"]], len(theirs["holds"])) == (other, ["ZHC-2"], 1)
        r = await client.get(ME, headers=token("resident:nobody", "resident"))
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "no_reader_card"
