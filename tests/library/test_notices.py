"""Loan notices: due-soon 3 days before, overdue 1/7/14 days after; each once, never after return,
re-armed by a renewal, and claimed once when two replicas tick together."""

import asyncio
from datetime import UTC, timedelta

import pytest

from services.library.domain.notices import overdue_stage
from services.library.jobs import tick
from tests.conftest import eventually
from tests.library.conftest import CARD_A, CARD_B, STAFF, checkout, events, register


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_each_stage_once_never_after_return_and_rearmed_by_renewal(
    lib, clock, settings, start_runtime, backend, monkeypatch, pg_database
):
    if backend == "postgresql":
        monkeypatch.setenv("LIBRARY_DATABASE_URL", pg_database("library"))
    start = clock.now()
    async with lib() as (runtime, client):
        ctx = runtime.contexts["library"]
        a = await register(client, CARD_A, "赵晓彤", user="resident:zhao-xiaotong")
        b = await register(client, CARD_B, "张晓森")
        kept = (await checkout(client, a, "ZHC-1")).json()["loan_id"]
        renewed = (await checkout(client, a, "ZHC-2")).json()["loan_id"]
        returned = (await checkout(client, b, "ZHC-3")).json()["loan_id"]
        r = await client.post(
            "/api/library/checkin", headers=STAFF, json={"barcode": "ZHC-3", "branch": "CN-SJZ-YH-ZHC"}
        )
        assert r.status_code == 200

        async with start_runtime(["library"], clock=clock, consumer_name="c2") as (replica, _c2):
            other = replica.contexts["library"]

            async def both_tick(days: float) -> int:
                clock.set(start + timedelta(days=days))
                counts = await asyncio.gather(
                    asyncio.to_thread(tick, ctx, clock.now()), asyncio.to_thread(tick, other, clock.now())
                )
                return sum(counts)

            assert await both_tick(26.9) == 0
            assert await both_tick(27) == 2  # due soon: both open loans, once each
            assert await both_tick(28) == 0
            r = await client.post(f"/api/library/loans/{renewed}/renew", headers=STAFF)
            assert r.status_code == 200
            assert await both_tick(31) == 1  # overdue day 1 for the kept loan only
            assert await both_tick(31.5) == 0
            assert await both_tick(37) == 1  # day 7
            assert await both_tick(44) == 1  # day 14
            assert await both_tick(56.9) == 0
            assert await both_tick(57) == 1  # the renewed loan: due soon again (new due date)
            assert await both_tick(58) == 0

        stream = f"{settings.stream_prefix}:library"
        await eventually(
            lambda: (
                len(events(settings.redis_url, stream, "LoanOverdue")) == 3
                and len(events(settings.redis_url, stream, "LoanDueSoon")) == 3
            )
        )
        soon = events(settings.redis_url, stream, "LoanDueSoon")
        overdue = events(settings.redis_url, stream, "LoanOverdue")
        assert sorted(e["data"]["loan_id"] for e in soon) == sorted([kept, renewed, renewed])
        assert [e["data"]["days_overdue"] for e in overdue] == [1, 7, 14]
        assert {e["data"]["loan_id"] for e in overdue} == {kept}
        assert all(e["data"]["reader_user"] == "resident:zhao-xiaotong" for e in soon + overdue)
        assert soon[0]["data"]["days_left"] == 3 and soon[0]["data"]["title"]
        assert returned not in {e["data"]["loan_id"] for e in soon + overdue}


async def test_returned_after_overdue_gets_no_more_notices(lib, clock):
    async with lib() as (runtime, client):
        ctx = runtime.contexts["library"]
        a = await register(client, CARD_A, "赵晓彤")
        await checkout(client, a, "ZHC-1")
        await checkout(client, a, "ZHC-2")
        r = await client.post("/api/library/copies/ZHC-2/status", headers=STAFF, json={"status": "claimed_returned"})
        assert r.status_code == 200
        clock.advance(timedelta(days=31))
        assert tick(ctx, clock.now()) == 1  # ZHC-1 only: a claimed return is not nagged
        await client.post("/api/library/checkin", headers=STAFF, json={"barcode": "ZHC-1", "branch": "CN-SJZ-YH-ZHC"})
        clock.advance(timedelta(days=20))
        assert tick(ctx, clock.now()) == 0


def test_overdue_schedule_is_configurable_and_skips_missed_stages():
    from datetime import datetime

    due = datetime(2026, 1, 1, tzinfo=UTC)
    assert overdue_stage(due + timedelta(days=2), due, [2, 5], 0) == 1
    assert overdue_stage(due + timedelta(days=4), due, [2, 5], 1) is None
    assert overdue_stage(due + timedelta(days=20), due, [1, 7, 14], 0) == 3  # only the latest, no burst
