"""Wiring of the notify service for the runtime."""

from pathlib import Path

from services.notify.adapters.orm import inbox, metadata, outbox
from services.notify.entrypoints.events import consumer
from services.notify.entrypoints.http import build_router
from shared.runtime import ServiceModule

module = ServiceModule(
    name="notify",
    title="通知 notify",
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    consumer=consumer,
    router=build_router,
)
