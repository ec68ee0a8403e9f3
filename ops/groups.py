"""Consumer groups as an operator sees them: lag, pending, idle consumers, and who got an entry."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import redis.asyncio as aredis
from redis.exceptions import ResponseError

from ops.entries import StreamEvent, _id_key, event_streams, text
from shared.messaging.streams import StreamNames

STALL_AFTER_MS = 60_000


@dataclass
class ConsumerInfo:
    name: str
    pending: int
    idle_ms: int


@dataclass
class GroupStats:
    """One consumer group on one stream. ``lag`` = entries appended but not yet delivered to it."""

    stream: str
    group: str
    lag: int | None
    entries_read: int | None
    pending: int
    oldest_pending_ms: int | None
    max_deliveries: int
    retried: int
    dead_letters: int  # of the whole group, not only this stream
    last_delivered: str
    consumers: list[ConsumerInfo] = field(default_factory=list)
    stalled: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


async def streams_with_groups(redis: aredis.Redis, names: StreamNames) -> list[str]:
    """Event streams plus every group's retry stream under the prefix."""
    keys = list(event_streams(names))
    async for key in redis.scan_iter(match=f"{names.prefix}:retry:*", count=500):
        keys.append(text(key))
    return sorted(set(keys), key=keys.index)


async def dead_letter_counts(redis: aredis.Redis, names: StreamNames, *, max_scan: int = 100_000) -> dict[str, int]:
    """Dead-lettered entries per group (the whole dead-letter stream, up to ``max_scan`` entries)."""
    counts: dict[str, int] = {}
    start, scanned = "-", 0
    while scanned < max_scan:
        batch = await redis.xrange(names.dead_letter, min=start, max="+", count=1000)
        for _id, fields in batch:
            group = text(fields.get(b"group", fields.get("group", "")))
            counts[group] = counts.get(group, 0) + 1
        scanned += len(batch)
        if len(batch) < 1000:
            break
        start = "(" + text(batch[-1][0])
    return counts


async def group_stats(
    redis: aredis.Redis, names: StreamNames, *, stall_after_ms: int = STALL_AFTER_MS
) -> list[GroupStats]:
    """Every (stream, group) under the prefix, with the reason a group looks stuck (``stalled``)."""
    dead = await dead_letter_counts(redis, names)
    found: list[GroupStats] = []
    for stream in await streams_with_groups(redis, names):
        try:
            groups = await redis.xinfo_groups(stream)
        except ResponseError:  # no such stream yet
            continue
        for g in groups:
            name = text(g["name"])
            pending = int(g.get("pending") or 0)
            oldest, max_deliveries, retried = None, 0, 0
            if pending:
                items = await redis.xpending_range(stream, name, min="-", max="+", count=100)
                if items:
                    oldest = max(int(i["time_since_delivered"]) for i in items)
                    max_deliveries = max(int(i["times_delivered"]) for i in items)
                    retried = sum(1 for i in items if int(i["times_delivered"]) > 1)
            consumers = [
                ConsumerInfo(text(c["name"]), int(c.get("pending") or 0), int(c.get("idle") or 0))
                for c in await redis.xinfo_consumers(stream, name)
            ]
            lag = g.get("lag")
            stats = GroupStats(
                stream=stream,
                group=name,
                lag=None if lag is None else int(lag),
                entries_read=None if g.get("entries-read") is None else int(g["entries-read"]),
                pending=pending,
                oldest_pending_ms=oldest,
                max_deliveries=max_deliveries,
                retried=retried,
                dead_letters=dead.get(name, 0),
                last_delivered=text(g.get("last-delivered-id")),
                consumers=consumers,
            )
            stats.stalled = stall_reason(stats, stall_after_ms)
            found.append(stats)
    return found


def stall_reason(stats: GroupStats, stall_after_ms: int = STALL_AFTER_MS) -> str | None:
    """Why a group has stopped moving, in words (``None`` when it is fine)."""
    backlog = (stats.lag or 0) + stats.pending
    if not backlog:
        return None
    if not stats.consumers:
        return f"无消费者 / no consumer has ever read: {backlog} waiting"
    busiest = min(c.idle_ms for c in stats.consumers)
    if busiest > stall_after_ms:
        return f"消费者空闲 {busiest // 1000}s / every consumer idle {busiest // 1000}s with {backlog} waiting"
    if stats.oldest_pending_ms is not None and stats.oldest_pending_ms > stall_after_ms * 5:
        return (
            f"待确认过久 / oldest pending entry {stats.oldest_pending_ms // 1000}s old "
            f"after {stats.max_deliveries} deliveries"
        )
    return None


@dataclass
class Delivery:
    """What one group did with one entry: ``acknowledged``, ``pending``, ``not delivered`` or ``dead-lettered``."""

    group: str
    state: str
    consumer: str | None = None
    deliveries: int | None = None
    error: str | None = None


async def deliveries_of(redis: aredis.Redis, names: StreamNames, ev: StreamEvent) -> list[Delivery]:
    """For each group reading ``ev.stream``: did it acknowledge ``ev``, is it pending, or dead-lettered?"""
    try:
        groups = await redis.xinfo_groups(ev.stream)
    except ResponseError:
        return []
    dead = await dead_lettered(redis, names, ev)
    out: list[Delivery] = []
    for g in groups:
        name = text(g["name"])
        if name in dead:
            out.append(Delivery(name, "dead-lettered", error=dead[name]))
            continue
        if _id_key(ev.entry_id) > _id_key(text(g.get("last-delivered-id")) or "0-0"):
            out.append(Delivery(name, "not delivered"))
            continue
        items = await redis.xpending_range(ev.stream, name, min=ev.entry_id, max=ev.entry_id, count=1)
        if items:
            err = await redis.hget(names.errors(name), ev.entry_id)
            out.append(
                Delivery(
                    name,
                    "pending",
                    consumer=text(items[0]["consumer"]),
                    deliveries=int(items[0]["times_delivered"]),
                    error=text(err) or None,
                )
            )
        else:
            out.append(Delivery(name, "acknowledged"))
    return out


async def dead_lettered(
    redis: aredis.Redis, names: StreamNames, ev: StreamEvent, *, max_scan: int = 20_000
) -> dict[str, str]:
    """Groups that dead-lettered this entry -> their error (scans the newest ``max_scan`` dead letters)."""
    found: dict[str, str] = {}
    batch = await redis.xrevrange(names.dead_letter, count=max_scan)
    for _id, fields in batch:
        values = {text(k): text(v) for k, v in fields.items()}
        if values.get("entry_id") == ev.entry_id and values.get("stream") == ev.stream:
            found.setdefault(values.get("group", ""), f"{values.get('reason')}: {values.get('error')}")
    return found
