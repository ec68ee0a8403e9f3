"""Wiring of the tickets service for the runtime."""

from pathlib import Path

from services.tickets.adapters.orm import inbox, metadata, outbox
from services.tickets.entrypoints.http import build_router
from shared.runtime import ServiceModule

module = ServiceModule(
    name="tickets",
    title="报事报修 tickets",
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    router=build_router,
)
