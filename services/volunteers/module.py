"""Wiring of the volunteers service (爱心敲门) for the runtime."""

from pathlib import Path

from services.volunteers.adapters.orm import inbox, metadata, outbox
from services.volunteers.demo import load
from services.volunteers.entrypoints.events import consumer
from services.volunteers.entrypoints.http import build_router
from services.volunteers.jobs import retain, tick
from shared.service import ServiceModule

module = ServiceModule(
    name="volunteers",
    title="爱心敲门 volunteers",
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    consumer=consumer,
    router=build_router,
    tickers=[("visits", 60.0, tick), ("retention", 3600.0, retain)],
    demo=load,
)
