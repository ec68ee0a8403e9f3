"""Issue 15, item 5.4: personal fields of closed tickets and finished loans, old messages and deliveries
go after a configurable period, by the services' retention jobs; statistics stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from services.library.adapters.orm import Loan
from services.library.jobs import retain as library_retain
from services.notify.adapters.orm import Notification
from services.notify.jobs import retain as notify_retain
from services.tickets.adapters.orm import Ticket
from services.tickets.jobs import retain as tickets_retain
from shared.erasure import TOMBSTONE
from tests.conftest import eventually, token

STAFF = token("staff:retention", "staff")
OPERATOR = token("operator:retention", "operator")
RESIDENT = token("resident:retention", "resident")
DESCRIPTION = "留存测试-5号楼门口积水"


async def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


def row(runtime, service, model, key):
    with runtime.contexts[service].store.transaction(readonly=True) as s:
        return s.get(model, key)


async def test_the_retention_jobs_anonymise_and_delete_after_their_periods(start_runtime, clock, monkeypatch):
    monkeypatch.setenv("LINLI_RETENTION_TICKETS_CLOSED_DAYS", "30")  # an operator's shorter period
    async with start_runtime(["tickets", "library", "notify"], clock=clock) as (runtime, client):
        body = {
            "category": "street_light",
            "title": "积水",
            "description": DESCRIPTION,
            "community": "北翟营",
            "unit": "2",
        }
        ticket = (await ok(await client.post("/api/tickets/tickets", headers=RESIDENT, json=body), 201))["id"]
        open_one = (await ok(await client.post("/api/tickets/tickets", headers=RESIDENT, json=body), 201))["id"]
        for step, payload in (("acknowledge", {}), ("resolve", {"note": "已疏通"})):
            await ok(await client.post(f"/api/tickets/tickets/{ticket}/{step}", headers=STAFF, json=payload))
        await ok(
            await client.post(
                f"/api/tickets/tickets/{ticket}/rate", headers=RESIDENT, json={"rating": 5, "comment": "谢谢"}
            )
        )
        await ok(
            await client.put(
                "/api/library/branches/RT-1", headers=OPERATOR, json={"name": "留存书屋", "institution": "LINLI"}
            )
        )
        await ok(
            await client.put("/api/library/titles", headers=STAFF, json={"isbn": "9787020002207", "title": "红楼梦"})
        )
        await ok(
            await client.post(
                "/api/library/copies",
                headers=STAFF,
                json={"barcode": "RT-C1", "isbn": "9787020002207", "home_branch": "RT-1"},
            ),
            201,
        )
        reader = await ok(
            await client.post(
                "/api/library/readers", headers=STAFF, json={"id_number": "11010519491231002X", "name": "留存读者"}
            ),
            201,
        )
        loan = (
            await ok(
                await client.post(
                    "/api/library/checkout",
                    headers=STAFF,
                    json={"reader_id": reader["id"], "barcode": "RT-C1", "branch": "RT-1"},
                ),
                201,
            )
        )["loan_id"]
        await ok(await client.post("/api/library/checkin", headers=STAFF, json={"barcode": "RT-C1", "branch": "RT-1"}))
        notes = await eventually(lambda: _inbox(runtime))

        # within the periods nothing changes
        clock.advance(timedelta(days=29))
        now = clock.now()
        assert tickets_retain(runtime.contexts["tickets"], now) == 0
        assert library_retain(runtime.contexts["library"], now) == 0
        assert notify_retain(runtime.contexts["notify"], now) == 0
        assert row(runtime, "tickets", Ticket, ticket).description == DESCRIPTION

        # 31 days after closing, the closed ticket is anonymised (the open one is not); statistics stay
        clock.advance(timedelta(days=2))
        assert tickets_retain(runtime.contexts["tickets"], clock.now()) == 1
        assert tickets_retain(runtime.contexts["tickets"], clock.now()) == 0, "done once"
        closed = row(runtime, "tickets", Ticket, ticket)
        assert (closed.reporter, closed.description, closed.unit, closed.rating_comment) == (TOMBSTONE, "", None, None)
        assert (closed.category, closed.status, closed.rating, closed.community) == (
            "street_light",
            "closed",
            5,
            "北翟营",
        )
        assert row(runtime, "tickets", Ticket, open_one).description == DESCRIPTION
        history = await ok(await client.get(f"/api/tickets/tickets/{ticket}", headers=STAFF))
        assert "谢谢" not in str(history)

        # a year on, the returned loan has no reader; half a year on, the inbox is emptied
        clock.advance(timedelta(days=366))
        assert library_retain(runtime.contexts["library"], clock.now()) >= 1
        assert row(runtime, "library", Loan, loan).reader_id == TOMBSTONE
        assert notify_retain(runtime.contexts["notify"], clock.now()) >= len(notes)
        assert not _inbox(runtime)


def _inbox(runtime) -> list:
    with runtime.contexts["notify"].store.transaction(readonly=True) as s:
        return list(s.scalars(select(Notification.id).where(Notification.recipient == "resident:retention")))
