"""Wiring of the library service (漂流书屋) for the runtime."""

from pathlib import Path

from services.library.adapters.orm import inbox, metadata, outbox
from services.library.demo import load
from services.library.entrypoints.events import consumer
from services.library.entrypoints.http import build_router
from services.library.jobs import retain, tick
from shared.service import ServiceModule

module = ServiceModule(
    name="library",
    title="漂流书屋 library",
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    consumer=consumer,
    router=build_router,
    tickers=[("notices", 60.0, tick), ("retention", 3600.0, retain)],
    demo=load,
)
