"""Stream entries seen as CloudEvents: parse, mask, filter and read them for operators.

Everything here reads Redis only (``XRANGE``/``XREVRANGE``/``XREAD``); nothing is acknowledged or
changed. Entry ids carry the time Redis appended the entry (milliseconds), which is what time
windows and the time between hops of a trace are measured on.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis.asyncio as aredis
from dateutil import parser as dateparser

from shared.clock import UTC, local, utcnow
from shared.messaging.streams import EVENT_FIELD, TYPE_FIELD, StreamNames
from shared.pii import mask_id_number, mask_phone

_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_SENSITIVE_KEYS = ("phone", "mobile", "id_number", "idnumber", "health", "identity")


def text(value: Any) -> str:
    """A Redis reply value as text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def entry_time(entry_id: str) -> datetime:
    """When Redis appended an entry (the milliseconds part of its id), in UTC."""
    ms = int(text(entry_id).split("-", 1)[0])
    return datetime.fromtimestamp(ms / 1000, UTC)


def ms_id(when: datetime, *, end: bool = False) -> str:
    """The stream id bound for a time: ``<ms>-0`` from, ``<ms>-<max>`` to."""
    ms = int(when.timestamp() * 1000)
    return f"{ms}-18446744073709551615" if end else f"{ms}-0"


def parse_when(value: str | None, now: datetime | None = None) -> datetime | None:
    """``10m``, ``2h``, ``3d`` ago, or an ISO time (naive = Asia/Shanghai), as UTC."""
    if not value:
        return None
    now = now or utcnow()
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", value)
    if match:
        amount, unit = int(match[1]), match[2]
        return now - timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    when = dateparser.isoparse(value) if "T" in value or value[:4].isdigit() else dateparser.parse(value)
    if when.tzinfo is None:
        from shared.clock import SHANGHAI

        when = when.replace(tzinfo=SHANGHAI)
    return when.astimezone(UTC)


def mask_text(value: str) -> str:
    """Mask mainland mobile numbers and 18-character ID numbers anywhere in a text."""
    value = _ID_NUMBER.sub(lambda m: mask_id_number(m[0]), value)
    return _PHONE.sub(lambda m: mask_phone(m[0]), value)


def mask(value: Any, key: str = "") -> Any:
    """A copy of a JSON value with personal data masked (keys like ``phone``; numbers that look like one)."""
    if isinstance(value, dict):
        return {k: mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, key) for v in value]
    if isinstance(value, str):
        if any(s in key.lower() for s in _SENSITIVE_KEYS) and value:
            return mask_phone(value) if "phone" in key.lower() or "mobile" in key.lower() else "***"
        return mask_text(value)
    return value


@dataclass
class StreamEvent:
    """One stream entry: where it is, and its CloudEvent (``event`` is the parsed JSON, masked)."""

    stream: str
    entry_id: str
    event: dict[str, Any]
    valid: bool = True
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.event.get("id") or "")

    @property
    def type(self) -> str:
        return str(self.event.get("type") or self.fields.get(TYPE_FIELD, ""))

    @property
    def short_type(self) -> str:
        """``TicketOpened`` for ``cn.linli.tickets.TicketOpened.v1``."""
        parts = self.type.split(".")
        return parts[-2] if len(parts) >= 2 else self.type

    @property
    def source(self) -> str:
        return str(self.event.get("source") or "")

    @property
    def subject(self) -> str:
        return str(self.event.get("subject") or "")

    @property
    def correlationid(self) -> str:
        return str(self.event.get("correlationid") or "")

    @property
    def causationid(self) -> str:
        return str(self.event.get("causationid") or "")

    @property
    def appended_at(self) -> datetime:
        return entry_time(self.entry_id)

    @property
    def local_time(self) -> str:
        """When it was appended, Asia/Shanghai, to the millisecond."""
        return local(self.appended_at).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

    def as_dict(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "entry_id": self.entry_id,
            "appended_at": self.appended_at.isoformat(),
            "valid": self.valid,
            "event": self.event,
            **({"fields": self.fields} if self.fields else {}),
        }


def to_event(stream: str, entry_id: Any, fields: dict[Any, Any], *, extra: bool = False) -> StreamEvent:
    """Parse a raw entry; ``extra`` keeps the other fields (dead letters' reason, group, error…)."""
    values = {text(k): text(v) for k, v in fields.items()}
    raw = values.pop(EVENT_FIELD, "")
    try:
        doc = json.loads(raw)
        valid = isinstance(doc, dict)
    except (ValueError, TypeError):
        doc, valid = None, False
    if not valid:
        doc = {"raw": mask_text(raw[:2000])}
    kept = (
        {k: mask_text(v) for k, v in values.items()} if extra else {k: v for k, v in values.items() if k == TYPE_FIELD}
    )
    return StreamEvent(stream=stream, entry_id=text(entry_id), event=mask(doc), valid=valid, fields=kept)


@dataclass
class EventFilter:
    """What an operator is looking for; empty parts match everything.

    ``type`` matches the full CloudEvents type or its short name (``TicketOpened``), ``source``
    and ``subject`` match exactly or as a prefix ending in ``*``; ``correlation`` matches a
    correlation id (or the root event's id) or its beginning, as ``tail`` shows it shortened.
    """

    types: list[str] = field(default_factory=list)
    source: str | None = None
    subject: str | None = None
    correlation: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, ev: StreamEvent) -> bool:
        if self.types and not any(t in (ev.type, ev.short_type) for t in self.types):
            return False
        if self.source and not _like(ev.source, self.source):
            return False
        if self.subject and not _like(ev.subject, self.subject):
            return False
        if self.correlation and not (
            ev.correlationid.startswith(self.correlation) or ev.id.startswith(self.correlation)
        ):
            return False
        return not ((self.since and ev.appended_at < self.since) or (self.until and ev.appended_at > self.until))

    @property
    def start_id(self) -> str:
        return ms_id(self.since) if self.since else "-"

    @property
    def end_id(self) -> str:
        return ms_id(self.until, end=True) if self.until else "+"


def _like(value: str, pattern: str) -> bool:
    return value.startswith(pattern[:-1]) if pattern.endswith("*") else value == pattern


def event_streams(names: StreamNames) -> list[str]:
    """The streams services publish to."""
    return names.all_event_streams()


async def scan(
    redis: aredis.Redis,
    streams: Iterable[str],
    flt: EventFilter | None = None,
    *,
    chunk: int = 500,
    limit: int | None = None,
) -> list[StreamEvent]:
    """Matching events of ``streams`` in append order (oldest first), at most ``limit`` (the newest)."""
    flt = flt or EventFilter()
    found: list[StreamEvent] = []
    for stream in streams:
        start = flt.start_id
        while True:
            batch = await redis.xrange(stream, min=start, max=flt.end_id, count=chunk)
            for entry_id, fields in batch:
                ev = to_event(stream, entry_id, fields)
                if flt.matches(ev):
                    found.append(ev)
            if len(batch) < chunk:
                break
            start = "(" + text(batch[-1][0])
    found.sort(key=lambda e: _id_key(e.entry_id))
    if limit is None:
        return found
    return found[-limit:] if limit > 0 else []


async def recent(
    redis: aredis.Redis,
    streams: Iterable[str],
    flt: EventFilter | None = None,
    *,
    limit: int = 50,
    max_scanned: int = 5000,
) -> list[StreamEvent]:
    """The newest ``limit`` matching events across ``streams`` (oldest first), reading backwards."""
    flt = flt or EventFilter()
    found: list[StreamEvent] = []
    for stream in streams:
        end, scanned, mine = flt.end_id, 0, 0
        while scanned < max_scanned and mine < limit:
            batch = await redis.xrevrange(stream, max=end, min=flt.start_id, count=200)
            for entry_id, fields in batch:
                ev = to_event(stream, entry_id, fields)
                if flt.matches(ev):
                    found.append(ev)
                    mine += 1
            scanned += len(batch)
            if len(batch) < 200:
                break
            end = "(" + text(batch[-1][0])
    found.sort(key=lambda e: _id_key(e.entry_id))
    return found[-limit:] if limit > 0 else []


async def server_now_id(redis: aredis.Redis) -> str:
    """A stream id for "now" on the Redis server's clock (entries appended later have greater ids)."""
    seconds, micros = await redis.time()
    return f"{int(seconds) * 1000 + int(micros) // 1000}-0"


async def follow(
    redis: aredis.Redis,
    streams: Iterable[str],
    flt: EventFilter | None = None,
    *,
    block_ms: int = 1000,
    start: str = "$",
) -> AsyncIterator[StreamEvent | None]:
    """Matching events appended after ``start`` (an id, or ``$`` = from now), as they come.

    Yields ``None`` after each quiet ``block_ms`` so callers can check for a deadline or a disconnect.
    """
    flt = flt or EventFilter()
    last = {s: start for s in streams}
    if start == "$":  # pin the current end so nothing appended between reads is missed
        for s in last:
            info = await redis.xrevrange(s, count=1)
            last[s] = text(info[0][0]) if info else "0-0"
    while True:
        reply = await redis.xread(last, block=block_ms, count=200)
        if not reply:
            yield None
            continue
        for stream, entries in reply:
            stream = text(stream)
            for entry_id, fields in entries:
                last[stream] = text(entry_id)
                ev = to_event(stream, entry_id, fields)
                if flt.matches(ev):
                    yield ev


_ENTRY_ID = re.compile(r"\d{1,20}-\d{1,20}")
_U64 = 2**64 - 1


def is_entry_id(value: str) -> bool:
    """A stream entry id Redis accepts (``<ms>-<seq>``, each part within 64 bits); anything else
    would make Redis answer an error, so it is treated as naming nothing."""
    if not _ENTRY_ID.fullmatch(value):
        return False
    ms, _, seq = value.partition("-")
    return int(ms) <= _U64 and int(seq) <= _U64


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


async def _is_linli_stream(redis: aredis.Redis, names: StreamNames, key: str) -> bool:
    """A stream under this deployment's prefix (events, retries, dead letters), never another key."""
    if not key.startswith(f"{names.prefix}:"):
        return False
    kind = await redis.type(key)
    return (kind.decode() if isinstance(kind, bytes) else str(kind)) == "stream"


async def find(redis: aredis.Redis, names: StreamNames, ref: str, *, scan_limit: int = 100_000) -> StreamEvent | None:
    """An event by stream entry id (``1732770000000-0``, optionally ``stream/entry``) or CloudEvent id."""
    streams = event_streams(names)
    if "/" in ref:
        stream, _, ref = ref.rpartition("/")
        if not await _is_linli_stream(redis, names, stream):
            return None
        streams = [stream]
    if re.fullmatch(r"\d+-\d+", ref):
        if not is_entry_id(ref):
            return None
        for stream in streams:
            got = await redis.xrange(stream, min=ref, max=ref, count=1)
            if got:
                return to_event(stream, got[0][0], got[0][1])
        return None
    for stream in streams:
        end, scanned = "+", 0
        while scanned < scan_limit:
            batch = await redis.xrevrange(stream, max=end, count=500)
            for entry_id, fields in batch:
                raw = text(fields.get(EVENT_FIELD.encode(), fields.get(EVENT_FIELD, b"")))
                if ref in raw:
                    ev = to_event(stream, entry_id, fields)
                    if ev.id == ref:
                        return ev
            scanned += len(batch)
            if len(batch) < 500:
                break
            end = "(" + text(batch[-1][0])
    return None
