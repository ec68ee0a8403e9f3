"""Two replicas of every service, each running its periodic jobs, over five weeks of the demo
communities: every escalation, VisitDue, loan notice, activity reminder and digest fires once.

Each service's own tests prove its job alone (``tests/tickets/test_sla.py``, ``tests/volunteers/test_jobs.py``,
``tests/library/test_notices.py``, ``tests/activities/test_signups.py``, ``tests/notify/test_delivery.py``);
here all of them run together in two runtimes on the same stores, the clock moving 12 hours a step
and both replicas ticking every service at the same moment. A job fired twice would leave two outbox
rows with the same type, subject and data (the events carry what was due, not when it was seen).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from shared.service import run_ticker
from tests.conftest import token

SERVICES = ["tickets", "library", "volunteers", "notify", "activities", "accounts"]
WATCHED = {  # what issue 20 names, by event type
    "TicketResponseOverdue": "escalation",
    "TicketResolutionOverdue": "escalation",
    "VisitDue": "VisitDue",
    "LoanDueSoon": "loan notice",
    "LoanOverdue": "loan notice",
    "ActivityReminderDue": "reminder",
    "VolunteerDigestReady": "digest",
}
STEPS, STEP = 70, timedelta(hours=12)
STAFF = token("staff:li-yao", "staff")
RESIDENT = token("resident:zhang-xiaosen", "resident")
MOTHER = token("resident:zhao-xiaotong", "resident", household="H-ZHC-1-101", community="智汇城")


async def test_two_replicas_of_every_service_fire_each_deadline_once(start_runtime, clock, record):
    async with (
        start_runtime(SERVICES, clock=clock) as (one, client),
        start_runtime(SERVICES, clock=clock, consumer_name="c2") as (two, _client2),
    ):
        for ctx in one.contexts.values():
            if ctx.module.demo is not None:
                await asyncio.to_thread(ctx.module.demo, ctx)
        await _seed(client)
        ticks = 0
        for _ in range(STEPS):
            now = clock.advance(STEP)
            jobs = [
                run_ticker(fn, ctx, now)
                for runtime in (one, two)
                for ctx in runtime.contexts.values()
                for _name, _interval, fn in ctx.module.tickers
            ]
            ticks += len(jobs)
            await asyncio.gather(*jobs)
        fired: Counter[tuple[str, str, str]] = Counter()
        for ctx in one.contexts.values():
            table = ctx.module.outbox.table
            with Session(ctx.store.engine) as session:
                for event_type, payload in session.execute(select(table.c.event_type, table.c.payload)):
                    short = event_type.split(".")[-2]
                    if short in WATCHED:
                        event = json.loads(payload)
                        fired[(short, event.get("subject") or "", json.dumps(event["data"], sort_keys=True))] += 1
    by_kind = Counter(WATCHED[short] for short, _, _ in fired.elements())
    doubled = {key: n for key, n in fired.items() if n > 1}
    record(
        {
            "replicas": 2,
            "services": len(SERVICES),
            "clock_steps": STEPS,
            "ticks": ticks,
            "fired": dict(by_kind),
            "doubled": len(doubled),
        }
    )
    assert not doubled, doubled
    assert set(by_kind) == set(WATCHED.values()), by_kind  # every kind fired at least once


async def _seed(client) -> None:
    """What the demo lacks for every job to have work: an open report, a loan and a workshop sign-up."""
    r = await client.post(
        "/api/tickets/tickets",
        headers=RESIDENT,
        json={"category": "manhole", "title": "井盖松动", "description": "3号楼前", "community": "北翟营"},
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/library/checkout",
        headers=STAFF,
        json={"card": "11010519491231002X", "barcode": "ZHC-0002", "branch": "CN-SJZ-YH-ZHC"},
    )
    assert r.status_code in (200, 201), r.text
    r = await client.get("/api/activities/activities", headers=MOTHER, params={"venue": "ZHC-401"})
    assert r.status_code == 200, r.text
    activity = r.json()["items"][0]["id"]
    r = await client.post(
        f"/api/activities/activities/{activity}/signups",
        headers=MOTHER,
        json={"participant": "小雨", "age": 8, "guardian": True},
    )
    assert r.status_code in (200, 201), r.text
