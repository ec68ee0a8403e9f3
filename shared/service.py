"""What a service is to the host: :class:`ServiceModule` (its wiring) and :class:`ServiceContext`
(what its use cases receive: store, clock, settings, ``emit``).

This is all a use case imports from the frame, so it pulls in neither FastAPI nor FastStream; the
host (``host/``) turns modules into processes, HTTP apps and subscriptions.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData
from sqlmodel import Session

from shared.clock import Clock
from shared.config import Settings
from shared.db.store import Store
from shared.events.envelope import CloudEvent, EventData, new_event
from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox
from shared.messaging.streams import StreamNames

if TYPE_CHECKING:  # the HTTP and broker types are the host's business
    import redis.asyncio as aredis
    from fastapi import APIRouter

    from shared.messaging.consumer import EventConsumer

Ticker = Callable[["ServiceContext", datetime], Any]
"""A periodic job: ``def tick(ctx, now)`` (run on a worker thread) or ``async def`` (awaited on the loop)."""


async def run_ticker(fn: Ticker, ctx: ServiceContext, now: datetime) -> Any:
    """Run one periodic job as its kind needs: a coroutine function handed to a thread would only be
    created, never run."""
    if inspect.iscoroutinefunction(fn):
        return await fn(ctx, now)
    return await asyncio.to_thread(fn, ctx, now)


@dataclass
class ServiceModule:
    """Everything the host needs to run one service (see ``services/tickets/module.py``)."""

    name: str
    title: str
    metadata: MetaData
    outbox: Outbox
    inbox: Inbox
    migrations: Path | None
    consumer: EventConsumer | None = None
    router: Callable[[ServiceContext], APIRouter] | None = None
    root_router: Callable[[ServiceContext], APIRouter] | None = None
    tickers: list[tuple[str, float, Ticker]] = field(default_factory=list)
    on_start: list[Callable[[ServiceContext], Any]] = field(default_factory=list)
    demo: Callable[[ServiceContext], Any] | None = None


@dataclass
class ServiceContext:
    """One service's dependencies inside a process."""

    module: ServiceModule
    settings: Settings
    store: Store
    names: StreamNames
    clock: Clock
    redis: aredis.Redis
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.module.name

    def emit(
        self,
        session: Session,
        data: EventData,
        *,
        subject: str | None = None,
        causation: CloudEvent | None = None,
        correlation_id: str | None = None,
        stream: str | None = None,
    ) -> CloudEvent:
        """Record an event in this service's outbox, inside ``session``'s transaction."""
        event = new_event(
            data, subject=subject, causation=causation, correlation_id=correlation_id, time=self.clock.now()
        )
        return self.module.outbox.add(session, event, stream=stream)
