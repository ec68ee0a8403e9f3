"""Wiring of the notify service for the runtime."""

from pathlib import Path

from services.notify import jobs
from services.notify.adapters.orm import inbox, metadata, outbox
from services.notify.demo import load
from services.notify.entrypoints.events import consumer
from services.notify.entrypoints.http import build_router
from services.notify.service_layer.setup import start
from shared.service import ServiceModule

module = ServiceModule(
    name="notify",
    title="通知 notify",
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    consumer=consumer,
    router=build_router,
    tickers=[("dispatch", 2.0, jobs.tick), ("retention", 3600.0, jobs.retain)],
    on_start=[start],
    demo=load,
)
