"""Each routing rule reaches exactly the right people; rules are data an operator can change."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from services.notify.adapters.orm import Notification
from services.notify.service_layer import routing
from shared.events.envelope import new_event
from shared.events.library import HoldReady, LoanDueSoon, LoanOverdue
from shared.events.tickets import (
    TicketAcknowledged,
    TicketAssigned,
    TicketFollowed,
    TicketOpened,
    TicketResolutionOverdue,
    TicketResolved,
    TicketResponseOverdue,
)
from shared.events.volunteers import VisitDue, VisitHazardFound, VisitMissed, VolunteerDigestReady
from tests.conftest import token
from tests.notify.conftest import handled, publish

STAFF = token("staff:li-yao", "staff", name="李瑶")
OPERATOR = token("op:ops", "operator")
WHEN = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
PEOPLE = [  # user, duty categories, on duty, community
    ("staff:li-yao", ["manhole"], True, "北翟营"),
    ("staff:sun-wei", ["streetlight"], True, None),
    ("staff:zhao-gang", ["*"], False, "北翟营"),
    ("staff:zheng-li", ["*"], False, "3502"),
]
T = {
    "ticket_id": "T-1",
    "category": "manhole",
    "community": "北翟营",
    "title": "井盖松动",
    "reporter": "resident:zhang-xiaosen",
}
E = {"elder_id": "E-3502-hao-lianfang", "community": "3502", "building": "3", "unit": "2"}
EVENTS = [
    TicketOpened(**T),
    TicketAssigned(**T, assignee="staff:zhao-gang", actor="staff:li-yao"),
    TicketFollowed(**T, follower="resident:zhao-xiaotong"),
    TicketAcknowledged(**T, actor="staff:li-yao"),
    TicketResolved(**T, actor="staff:zhao-gang"),
    TicketResponseOverdue(**T, level=1, due=WHEN, escalated_to="staff:wang-jianguo"),
    TicketResolutionOverdue(**T, level=2, due=WHEN, escalated_to="staff:li-yao"),
    LoanDueSoon(
        barcode="B1", loan_id="L1", reader_id="R1", due_at=WHEN, days_left=2, reader_user="resident:zhang-xiaosen"
    ),
    LoanDueSoon(barcode="B2", loan_id="L2", reader_id="R2", due_at=WHEN, days_left=2),  # no app account: skipped
    LoanOverdue(
        barcode="B3", loan_id="L3", reader_id="R3", due_at=WHEN, days_overdue=1, reader_user="resident:zhao-xiaotong"
    ),
    HoldReady(
        hold_id="H1",
        reader_id="R1",
        isbn="978",
        pickup_branch="明珠花苑书屋",
        expires_at=WHEN,
        reader_user="resident:zhang-xiaosen",
    ),
    VisitDue(
        **E,
        visit_id="V1",
        due_at=WHEN,
        elder_name="郝连芳",
        tier="key",
        volunteer_users=["volunteer:zhang-xiuqin", "volunteer:wang-guilan"],
        team_leader="volunteer:zhang-xiuqin",
    ),
    VisitMissed(
        **E,
        visit_id="V1",
        due_at=WHEN,
        tier="key",
        miss_count=2,
        team_leader="volunteer:zhang-xiuqin",
        escalated_to="staff",
    ),
    VisitHazardFound(**E, hazard_id="HZ1", visit_id="V1", category="gas", description="燃气软管老化"),
    VolunteerDigestReady(
        team_id="axqm-3502",
        team_leader="volunteer:zhang-xiuqin",
        week_start=WHEN,
        visits_due=5,
        visits_done=4,
        visits_missed=1,
        open_hazards=1,
    ),
]
EXPECTED = {
    "staff:li-yao": ["TicketOpened", "TicketResolutionOverdue"],
    "staff:sun-wei": ["VisitMissed", "VisitHazardFound"],  # serves every community
    "staff:zhao-gang": ["TicketAssigned"],  # off duty: no TicketOpened; not 3502 staff
    "staff:zheng-li": ["VisitMissed", "VisitHazardFound"],
    "staff:wang-jianguo": ["TicketResponseOverdue"],
    "resident:zhang-xiaosen": ["TicketAcknowledged", "TicketResolved", "LoanDueSoon", "HoldReady"],
    "resident:zhao-xiaotong": ["TicketAcknowledged", "TicketResolved", "LoanOverdue"],  # a follower
    "volunteer:zhang-xiuqin": ["VisitDue", "VisitMissed", "VolunteerDigestReady"],
    "volunteer:wang-guilan": ["VisitDue"],
}


async def inbox_of(client, user: str) -> list[dict]:
    r = await client.get("/api/notify/inbox", headers=token(user, "staff" if user.startswith("staff") else "resident"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def register_people(client) -> None:
    for user, cats, duty, community in PEOPLE:
        r = await client.put(
            f"/api/notify/recipients/{user}",
            headers=STAFF,
            json={
                "display_name": user.split(":")[1],
                "roles": ["staff"],
                "categories": cats,
                "on_duty": duty,
                "community": community,
            },
        )
        assert r.status_code == 200, r.text


async def assert_expected_inboxes(runtime, client) -> None:
    for user, expected in EXPECTED.items():
        got = [m["event_type"].rsplit(".", 2)[-2] for m in await inbox_of(client, user)]
        assert Counter(got) == Counter(expected), user
    with Session(runtime.contexts["notify"].store.engine) as session:  # nobody else, nothing twice
        total = session.exec(select(func.count()).select_from(Notification)).one()
    assert total == sum(len(v) for v in EXPECTED.values())


async def test_every_rule_reaches_exactly_its_recipients(start_runtime, clock):
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        await register_people(client)
        for data in EVENTS:
            await publish(runtime, data, subject=getattr(data, "ticket_id", None))
        await handled(runtime, len(EVENTS))
        await assert_expected_inboxes(runtime, client)
        [opened] = [m for m in await inbox_of(client, "staff:li-yao") if m["event_type"].endswith("TicketOpened.v1")]
        assert opened["subject"] == "T-1" and opened["title"] == "新报事：井盖松动"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_every_rule_reaches_exactly_its_recipients_when_routed_as_one_batch(
    start_runtime, clock, backend, pg_database, monkeypatch
):
    """All events routed together, in order: the follower recorded by TicketFollowed hears of the later ones."""
    if backend == "postgresql":
        monkeypatch.setenv("NOTIFY_DATABASE_URL", pg_database("notify"))
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        await register_people(client)
        ctx = runtime.contexts["notify"]
        batch = [(new_event(data, subject=getattr(data, "ticket_id", None), time=clock.now()), data) for data in EVENTS]
        with ctx.store.transaction() as session:
            routing.notify_events(ctx, batch, session)
        await assert_expected_inboxes(runtime, client)


async def test_rules_are_data_an_operator_changes(start_runtime, clock):
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        rules = (await client.get("/api/notify/rules", headers=STAFF, params={"limit": 200})).json()["items"]
        assert {
            "event": "VisitHazardFound",
            "audiences": ["staff"],
            "category": "volunteers",
            "critical": "true",
            "template": "VisitHazardFound",
        } in rules
        change = {"audiences": ["field:reporter", "on_duty_staff"], "category": "tickets"}
        assert (await client.put("/api/notify/rules/TicketOpened", headers=STAFF, json=change)).status_code == 403
        assert (await client.put("/api/notify/rules/TicketOpened", json=change)).status_code == 401
        r = await client.put(
            "/api/notify/rules/TicketOpened", headers=OPERATOR, json={"audiences": ["everyone"], "category": "tickets"}
        )
        assert r.status_code == 422 and "unknown audience" in r.json()["detail"]
        r = await client.put("/api/notify/rules/TicketOpened", headers=OPERATOR, json=change)
        assert r.status_code == 200, r.text
        await publish(runtime, TicketOpened(**T))
        await handled(runtime, 1)
        [mine] = await inbox_of(client, "resident:zhang-xiaosen")
        assert mine["title"] == "新报事：井盖松动"
        assert (
            await client.get("/api/notify/rules", headers=token("resident:zhang-xiaosen", "resident"))
        ).status_code == 403
