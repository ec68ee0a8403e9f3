"""Real flows for the operators' tests: staff on duty, tickets opened through HTTP, and a consumer
outage (its inbox table renamed away) that makes a service fail on events and dead-letter them."""

from __future__ import annotations

from contextlib import contextmanager

from ops.dlq import DlqFilter, list_dead
from shared.events.envelope import CloudEvent
from shared.events.notify import NotificationSent
from tests.conftest import token

STAFF = token("staff:li-yao", "staff", name="李瑶")
RESIDENT = token("resident:zhang-xiaosen", "resident", name="张晓森")


async def staff_on_duty(client) -> None:
    r = await client.put(
        "/api/notify/recipients/staff:li-yao",
        headers=STAFF,
        json={
            "user_id": "staff:li-yao",
            "display_name": "李瑶",
            "roles": ["staff"],
            "categories": ["*"],
            "on_duty": True,
        },
    )
    assert r.status_code == 200, r.text


def record_notification_sent(runtime, opened, subject: str) -> CloudEvent:
    """notify records that it told staff, caused by the ``opened`` entry (as a delivery would); returns the cause."""
    notify = runtime.contexts["notify"]
    cause = CloudEvent.model_validate(opened.event)
    with notify.store.transaction() as session:
        notify.emit(
            session,
            NotificationSent(
                notification_id="n1",
                recipient="staff:li-yao",
                channel="inapp",
                cause_type=cause.type,
                cause_id=cause.id,
            ),
            subject=subject,
            causation=cause,
        )
    return cause


async def open_ticket(client, title: str, *, building: str = "3") -> str:
    r = await client.post(
        "/api/tickets/tickets",
        headers=RESIDENT,
        json={
            "category": "manhole",
            "title": title,
            "description": "亚龙花园井盖翘起 联系 13812345678",
            "community": "北翟营",
            "building": building,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def staff_inbox_titles(client) -> list[str]:
    r = await client.get("/api/notify/inbox", headers=STAFF)
    assert r.status_code == 200, r.text
    return [m["title"] for m in r.json()["items"]]


@contextmanager
def consumer_outage(ctx):
    """A service's inbox table is gone while inside: every event its consumer handles fails (and is
    retried, then dead-lettered) whatever the handler does; afterwards it works again."""
    table = ctx.module.inbox.table.name
    with ctx.store.engine.begin() as conn:
        conn.exec_driver_sql(f'ALTER TABLE "{table}" RENAME TO "{table}_down"')
    try:
        yield
    finally:
        with ctx.store.engine.begin() as conn:
            conn.exec_driver_sql(f'ALTER TABLE "{table}_down" RENAME TO "{table}"')


async def dead_letter_count(redis, names, group: str = "notify") -> int:
    return len(await list_dead(redis, names, DlqFilter(group)))
