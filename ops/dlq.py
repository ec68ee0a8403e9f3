"""The dead-letter stream ``<prefix>:dlq``: list, redrive to the group that failed, discard with a reason.

Redrive appends the original CloudEvent to the failing group's retry stream ``<prefix>:retry:<group>``
and removes the dead letter, in one ``MULTI``. Only that group reads its retry stream, and its inbox
makes a second effect impossible, so redriving twice is harmless. Discard keeps the entry, the
reason and the operator in the audit stream ``<prefix>:dlq:discarded``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aredis

from ops.entries import StreamEvent, _like, is_entry_id, text, to_event
from shared.clock import utcnow
from shared.messaging.streams import EVENT_FIELD, ORIGIN_FIELD, TYPE_FIELD, StreamNames

log = logging.getLogger("linli.ops")

DISCARDED_MAXLEN = 100_000


def discarded_stream(names: StreamNames) -> str:
    """The audit stream of discarded dead letters."""
    return f"{names.dead_letter}:discarded"


@dataclass
class DeadLetter:
    """A dead-letter entry: the event, the group that failed it, why, and how often it was tried."""

    entry: StreamEvent

    @property
    def id(self) -> str:
        return self.entry.entry_id

    def get(self, key: str) -> str:
        return self.entry.fields.get(key, "")

    @property
    def group(self) -> str:
        return self.get("group")

    @property
    def reason(self) -> str:
        return self.get("reason")

    @property
    def error(self) -> str:
        return self.get("error")

    @property
    def deliveries(self) -> int:
        return int(self.get("deliveries") or 0)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "group": self.group,
            "reason": self.reason,
            "error": self.error,
            "deliveries": self.deliveries,
            "stream": self.get("stream"),
            "entry_id": self.get("entry_id"),
            "dead_at": self.get("dead_at"),
            "event": self.entry.event,
        }


@dataclass
class DlqFilter:
    group: str | None = None
    reason: str | None = None
    type: str | None = None

    def matches(self, d: DeadLetter) -> bool:
        return (
            (not self.group or d.group == self.group)
            and (not self.reason or _like(d.reason, self.reason))
            and (not self.type or self.type in (d.entry.type, d.entry.short_type))
        )


async def list_dead(
    redis: aredis.Redis, names: StreamNames, flt: DlqFilter | None = None, *, limit: int | None = None
) -> list[DeadLetter]:
    """Dead letters matching ``flt``, oldest first."""
    flt = flt or DlqFilter()
    out: list[DeadLetter] = []
    start = "-"
    while True:
        batch = await redis.xrange(names.dead_letter, min=start, max="+", count=1000)
        for entry_id, fields in batch:
            d = DeadLetter(to_event(names.dead_letter, entry_id, fields, extra=True))
            if flt.matches(d):
                out.append(d)
        if len(batch) < 1000 or (limit and len(out) >= limit):
            break
        start = "(" + text(batch[-1][0])
    return out[:limit] if limit else out


async def get_dead(redis: aredis.Redis, names: StreamNames, dead_id: str) -> DeadLetter | None:
    """The dead letter with this entry id, or ``None`` (also for an id that is not an entry id)."""
    if not is_entry_id(dead_id):
        return None
    got = await redis.xrange(names.dead_letter, min=dead_id, max=dead_id, count=1)
    return DeadLetter(to_event(names.dead_letter, got[0][0], got[0][1], extra=True)) if got else None


async def _raw(redis: aredis.Redis, names: StreamNames, dead_id: str) -> dict[str, str] | None:
    if not is_entry_id(dead_id):
        return None
    got = await redis.xrange(names.dead_letter, min=dead_id, max=dead_id, count=1)
    return {text(k): text(v) for k, v in got[0][1].items()} if got else None


async def redrive(
    redis: aredis.Redis,
    names: StreamNames,
    dead_ids: list[str],
    *,
    operator: str = "operator",
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Send dead letters back to the group that failed them; returns the retry-stream entry ids."""
    added: list[str] = []
    for dead_id in dead_ids:
        raw = await _raw(redis, names, dead_id)
        if raw is None:
            continue
        group = raw.get("group") or ""
        fields = {
            EVENT_FIELD: raw.get(EVENT_FIELD, ""),
            ORIGIN_FIELD: raw.get("stream", ""),
            "redriven_from": dead_id,
            "redriven_by": operator,
        }
        if raw.get(TYPE_FIELD):
            fields[TYPE_FIELD] = raw[TYPE_FIELD]
        pipe = redis.pipeline(transaction=True)
        pipe.xadd(names.retry(group), fields)
        pipe.xdel(names.dead_letter, dead_id)
        new_id, removed = await pipe.execute()
        if removed:
            added.append(text(new_id))
        log.info(
            "dead letter redriven",
            extra={"dead_id": dead_id, "group": group, "operator": operator, "event_type": raw.get(TYPE_FIELD)},
        )
        if progress:
            progress(1)
    return added


async def discard(
    redis: aredis.Redis, names: StreamNames, dead_ids: list[str], *, reason: str, operator: str = "operator"
) -> int:
    """Drop dead letters for good, keeping each with ``reason`` in the audit stream; returns how many."""
    if not reason or not reason.strip():
        raise ValueError("丢弃需要原因 / a reason is required to discard")
    done = 0
    for dead_id in dead_ids:
        raw = await _raw(redis, names, dead_id)
        if raw is None:
            continue
        audit = {
            **raw,
            "dead_id": dead_id,
            "discard_reason": reason.strip()[:500],
            "discarded_by": operator,
            "discarded_at": utcnow().isoformat(),
        }
        pipe = redis.pipeline(transaction=True)
        pipe.xadd(discarded_stream(names), audit, maxlen=DISCARDED_MAXLEN, approximate=True)
        pipe.xdel(names.dead_letter, dead_id)
        await pipe.execute()
        done += 1
        log.warning(
            "dead letter discarded",
            extra={"dead_id": dead_id, "group": raw.get("group"), "operator": operator, "reason": reason.strip()[:500]},
        )
    return done


async def discarded(redis: aredis.Redis, names: StreamNames, *, limit: int = 50) -> list[DeadLetter]:
    """The newest discarded dead letters with their reason (audit)."""
    got = await redis.xrevrange(discarded_stream(names), count=limit)
    return [DeadLetter(to_event(discarded_stream(names), i, f, extra=True)) for i, f in got]
