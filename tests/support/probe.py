"""A probe service for testing the messaging machinery.

It consumes TicketOpened from the tickets stream, records each one it applies, and refuses
(raises) for titles containing "boom". ``POST /api/probe/report`` writes a TicketOpened through
the probe's own outbox onto the tickets stream, so tests exercise the relay without depending on
the tickets service.
"""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Depends
from sqlalchemy import MetaData
from sqlmodel import Field, SQLModel, func, select

from shared.events.tickets import TicketOpened
from shared.messaging.consumer import EventConsumer
from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox
from shared.service import ServiceModule
from shared.web.auth import allow

metadata = MetaData()
outbox = Outbox(metadata, default_stream="probe")
inbox = Inbox(metadata)
attempts: Counter[str] = Counter()


class ProbeTable(SQLModel):
    metadata = metadata


class Effect(ProbeTable, table=True):
    id: int | None = Field(default=None, primary_key=True)
    event_id: str
    title: str


consumer = EventConsumer(group="probe", streams=["tickets"])


@consumer.on(TicketOpened)
def on_ticket_opened(ctx, event, data: TicketOpened, session) -> None:
    attempts[event.id] += 1
    if "boom" in data.title or ("flaky" in data.title and attempts[event.id] == 1):
        raise RuntimeError(f"probe refuses {data.title!r}")
    session.add(Effect(event_id=event.id, title=data.title))


def build_router(ctx) -> APIRouter:
    router = APIRouter()

    @router.post("/report", status_code=201)
    def report(body: dict, who=Depends(allow("resident"))) -> dict:
        ticket_id = body.get("ticket_id", "T1")
        with ctx.store.transaction() as session:
            event = ctx.emit(
                session,
                TicketOpened(ticket_id=ticket_id, category="probe", title=body["title"]),
                subject=ticket_id,
                stream="tickets",
            )
        return {"event_id": event.id}

    return router


module = ServiceModule(
    name="probe",
    title="probe",
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=None,
    consumer=consumer,
    router=build_router,
)


def effects(runtime) -> list[tuple[str, str]]:
    """(event_id, title) of every effect the probe wrote, in order."""
    with runtime.contexts["probe"].store.transaction() as session:
        return [(e.event_id, e.title) for e in session.exec(select(Effect).order_by(Effect.id)).all()]


def effect_count(runtime) -> int:
    with runtime.contexts["probe"].store.transaction() as session:
        return session.exec(select(func.count()).select_from(Effect)).one()
