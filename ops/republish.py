"""Publishing a service's kept outbox rows again, for a Redis that lost what it held.

A Redis without persistence (or whose last snapshot is older than its crash) comes back without the
entries it had: the outbox rows of those events are already marked sent, so the relay never
publishes them again. The relay keeps sent rows for ``LINLI_OUTBOX_RETENTION_HOURS`` (24 h), and
:func:`republish` writes the rows sent within a time range to their streams once more, in the
order they were first written. Consumers apply an event once by its ``(source, id)`` (their
inboxes), so what had already been applied is skipped and only what was lost takes effect.

Rows still pending are left alone: the relay publishes them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import redis.asyncio as aredis
from sqlalchemy import Engine, MetaData, Table, func, inspect, make_url, select

from shared.db.engine import make_engine
from shared.messaging.outbox import Outbox
from shared.messaging.streams import StreamNames, encode_entry

log = logging.getLogger("linli.ops")

BATCH = 500


class NoOutbox(Exception):
    """The service's store does not exist or has no outbox table."""


@dataclass(frozen=True)
class Window:
    """Rows sent at or after ``since`` (and before ``until``, when given)."""

    since: datetime
    until: datetime | None = None


def outbox_table() -> Table:
    """The outbox table as every service defines it (:class:`shared.messaging.outbox.Outbox`)."""
    return Outbox(MetaData(), default_stream="-").table


def open_store(service: str, url: str) -> Engine:
    """An engine on ``service``'s store, refusing one that does not exist or has no outbox."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).is_file():
        raise NoOutbox(f"没有该服务的数据库 / no store for {service} at {parsed.database}")
    engine = make_engine(url)
    if not inspect(engine).has_table("outbox"):
        engine.dispose()
        raise NoOutbox(f"该服务的数据库没有发件箱 / the store of {service} has no outbox table")
    return engine


def _sent_within(table: Table, window: Window):  # type: ignore[no-untyped-def]
    condition = table.c.sent_at.is_not(None) & (table.c.sent_at >= window.since)
    if window.until is not None:
        condition &= table.c.sent_at < window.until
    return condition


def count_sent(engine: Engine, window: Window) -> int:
    """How many kept rows were sent within ``window``."""
    table = outbox_table()
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(_sent_within(table, window))).scalar_one())


async def republish(
    engine: Engine,
    redis: aredis.Redis,
    names: StreamNames,
    window: Window,
    *,
    maxlen: int | None = 1_000_000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """XADD every kept row sent within ``window`` to its stream again, in id order; returns how many.

    Rows are read 500 at a time by id (keyset), each batch written in one pipeline.
    """
    table = outbox_table()
    query = (
        select(table.c.id, table.c.stream, table.c.event_type, table.c.payload)
        .where(_sent_within(table, window))
        .order_by(table.c.id)
        .limit(BATCH)
    )
    last, published = 0, 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(query.where(table.c.id > last)).all()
        if not rows:
            break
        pipe = redis.pipeline(transaction=False)
        for _id, stream, event_type, payload in rows:
            fields = encode_entry(payload, event_type)
            if maxlen:
                pipe.xadd(names.events(stream), fields, maxlen=maxlen, approximate=True)
            else:
                pipe.xadd(names.events(stream), fields)
        await pipe.execute()
        published += len(rows)
        last = rows[-1][0]
        if progress:
            progress(len(rows))
        if len(rows) < BATCH:
            break
    log.info("republished outbox rows", extra={"count": published, "since": window.since.isoformat()})
    return published
