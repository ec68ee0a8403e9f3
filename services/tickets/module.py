"""Wiring of the tickets service for the runtime."""

from pathlib import Path

from services.tickets.adapters.orm import inbox, metadata, outbox
from services.tickets.demo import load
from services.tickets.entrypoints.events import consumer
from services.tickets.entrypoints.http import build_router
from services.tickets.entrypoints.open311 import build_open311_router
from services.tickets.jobs import retain, tick
from shared.service import ServiceModule

module = ServiceModule(
    name="tickets",
    title="报事报修 tickets",
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    consumer=consumer,
    router=build_router,
    root_router=build_open311_router,
    tickers=[("sla", 30.0, tick), ("retention", 3600.0, retain)],
    demo=load,
)
