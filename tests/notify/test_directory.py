"""Routing keeps recipients and rules in memory between batches; a change still reaches the very
next event, also when another notify replica made it."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from services.notify.adapters.orm import ConfigVersion, Rule
from services.notify.service_layer.recipients import upsert_recipient
from shared.db.engine import make_engine
from shared.events.tickets import TicketOpened
from tests.conftest import token
from tests.notify.conftest import handled, publish

STAFF = token("staff:li-yao", "staff", name="李瑶")


def opened(ticket_id: str) -> TicketOpened:
    return TicketOpened(
        ticket_id=ticket_id, category="manhole", community="北翟营", title="井盖松动", reporter="resident:zhang-xiaosen"
    )


async def subjects(client, user: str) -> list[str]:
    r = await client.get("/api/notify/inbox", headers=token(user, "staff"))
    assert r.status_code == 200, r.text
    return sorted(m["subject"] for m in r.json()["items"])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_change_made_by_another_replica_reaches_the_next_event(
    start_runtime, clock, backend, pg_database, monkeypatch
):
    if backend == "postgresql":
        monkeypatch.setenv("NOTIFY_DATABASE_URL", pg_database("notify"))
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        r = await client.put(
            "/api/notify/recipients/staff:li-yao",
            headers=STAFF,
            json={"display_name": "李瑶", "roles": ["staff"], "categories": ["manhole"], "on_duty": True},
        )
        assert r.status_code == 200, r.text
        for n in (1, 2):  # the second event is routed from what the first one read
            await publish(runtime, opened(f"T-{n}"), subject=f"T-{n}")
            await handled(runtime, n)
        assert await subjects(client, "staff:li-yao") == ["T-1", "T-2"]

        # another replica (its own engine on the same store) hands the duty over, then edits the rule
        replica = make_engine(runtime.contexts["notify"].store.engine.url.render_as_string(hide_password=False))
        try:
            with Session(replica) as session:
                before = session.get(ConfigVersion, 1).version
                upsert_recipient(
                    session,
                    "staff:li-yao",
                    display_name="李瑶",
                    roles=["staff"],
                    categories=["manhole"],
                    on_duty=False,
                )
                upsert_recipient(
                    session,
                    "staff:sun-wei",
                    display_name="孙伟",
                    roles=["staff"],
                    categories=["*"],
                    on_duty=True,
                )
                session.commit()
                assert session.get(ConfigVersion, 1).version > before
            await publish(runtime, opened("T-3"), subject="T-3")
            await handled(runtime, 3)
            assert await subjects(client, "staff:li-yao") == ["T-1", "T-2"]
            assert await subjects(client, "staff:sun-wei") == ["T-3"]

            with Session(replica) as session:
                session.merge(
                    Rule(
                        event="TicketOpened", audiences=["field:reporter"], category="tickets", template="TicketOpened"
                    )
                )
                session.commit()
            await publish(runtime, opened("T-4"), subject="T-4")
            await handled(runtime, 4)
            assert await subjects(client, "staff:sun-wei") == ["T-3"]
            assert await subjects(client, "resident:zhang-xiaosen") == ["T-4"]
        finally:
            replica.dispose()
