"""Wiring of the activities service (智汇城's rooms and 智汇橙 sign-ups) for the runtime."""

from pathlib import Path

from services.activities.adapters.orm import inbox, metadata, outbox
from services.activities.demo import load
from services.activities.entrypoints.events import consumer
from services.activities.entrypoints.http import build_router
from services.activities.jobs import retain, tick
from shared.service import ServiceModule

module = ServiceModule(
    name="activities",
    title="社区活动 activities",
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    consumer=consumer,
    router=build_router,
    tickers=[("deadlines", 30.0, tick), ("retention", 3600.0, retain)],
    demo=load,
)
