"""Replaying a time range to one group, and tracing one flow across every stream."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aredis

from ops.entries import EventFilter, StreamEvent, event_streams, scan, text, to_event
from shared.messaging.streams import EVENT_FIELD, ORIGIN_FIELD, TYPE_FIELD, StreamNames

log = logging.getLogger("linli.ops")


async def replay(
    redis: aredis.Redis,
    names: StreamNames,
    stream: str,
    group: str,
    flt: EventFilter,
    *,
    dry_run: bool = True,
    operator: str = "operator",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Re-deliver the entries of ``stream`` matching ``flt`` to ``group`` only (its retry stream).

    With ``dry_run`` nothing is written; returns how many entries match (or were re-delivered).
    The group's inbox skips events it already applied, so a replay only fills gaps.
    """
    key = stream if stream.startswith(names.prefix + ":") else names.events(stream)
    start, count = flt.start_id, 0
    while True:
        batch = await redis.xrange(key, min=start, max=flt.end_id, count=500)
        pipe = redis.pipeline(transaction=False)
        for entry_id, fields in batch:
            if not flt.matches(to_event(key, entry_id, fields)):
                continue
            count += 1
            if not dry_run:
                values = {text(k): text(v) for k, v in fields.items()}
                entry = {
                    EVENT_FIELD: values.get(EVENT_FIELD, ""),
                    ORIGIN_FIELD: key,
                    "replayed_from": f"{key}/{text(entry_id)}",
                    "replayed_by": operator,
                }
                if values.get(TYPE_FIELD):
                    entry[TYPE_FIELD] = values[TYPE_FIELD]
                pipe.xadd(names.retry(group), entry)
        if not dry_run and pipe.command_stack:
            await pipe.execute()
        if progress:
            progress(len(batch))
        if len(batch) < 500:
            break
        start = "(" + text(batch[-1][0])
    if not dry_run:
        log.info("replayed entries", extra={"stream": key, "group": group, "count": count, "operator": operator})
    return count


@dataclass
class Hop:
    """One event of a flow, the event that caused it and the time since that cause (ms)."""

    event: StreamEvent
    cause: StreamEvent | None
    after_ms: float | None
    since_start_ms: float
    depth: int

    def as_dict(self) -> dict:
        return {
            **self.event.as_dict(),
            "cause_id": self.cause.id if self.cause else None,
            "after_ms": self.after_ms,
            "since_start_ms": self.since_start_ms,
            "depth": self.depth,
        }


async def trace(
    redis: aredis.Redis, names: StreamNames, correlation_id: str, flt: EventFilter | None = None
) -> list[Hop]:
    """Every event of one flow (same correlation id, or the root itself) across all streams, in order.

    Times between hops are measured between the appends to the streams (entry ids).
    """
    base = flt or EventFilter()
    found = await scan(
        redis, event_streams(names), EventFilter(correlation=correlation_id, since=base.since, until=base.until)
    )
    if not found:
        return []
    by_id = {ev.id: ev for ev in found}
    start = found[0].appended_at
    hops: list[Hop] = []
    depth: dict[str, int] = {}
    for ev in found:
        cause = by_id.get(ev.causationid)
        depth[ev.id] = depth.get(cause.id, 0) + 1 if cause else 0
        after = (ev.appended_at - cause.appended_at).total_seconds() * 1000 if cause else None
        hops.append(Hop(ev, cause, after, (ev.appended_at - start).total_seconds() * 1000, depth[ev.id]))
    return hops
