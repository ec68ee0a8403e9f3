"""Small helpers of the reliability suite: events to write, and what a consumer group holds."""

from __future__ import annotations

from collections import Counter

import redis.asyncio as aredis

from shared.events import new_event
from shared.events.envelope import CloudEvent
from shared.events.tickets import TicketOpened
from shared.messaging.streams import StreamNames, encode_entry


def ticket(n: int, title: str | None = None) -> CloudEvent:
    """A TicketOpened for ticket ``R-<n>`` (the probe applies it; titles with "boom" it refuses)."""
    ticket_id = f"R-{n}"
    data = TicketOpened(ticket_id=ticket_id, category="street_light", title=title or f"路灯不亮 {n}")
    return new_event(data, subject=ticket_id)


async def xadd(r: aredis.Redis, names: StreamNames, event: CloudEvent, stream: str = "tickets") -> bytes:
    """Write ``event`` to a stream as a producer's relay does."""
    return await r.xadd(names.events(stream), encode_entry(event.to_json(), event.type))


async def pending_deliveries(r: aredis.Redis, stream: str, group: str) -> list[int]:
    """The delivery count of each entry pending in ``group`` (empty if the group is missing)."""
    try:
        items = await r.xpending_range(stream, group, min="-", max="+", count=10_000)
    except aredis.ResponseError:
        return []
    return [int(item["times_delivered"]) for item in items]


async def pending(r: aredis.Redis, stream: str, group: str) -> int:
    try:
        return int((await r.xpending(stream, group))["pending"])
    except aredis.ResponseError:
        return 0


def tally(event_ids: list[str], sent: list[str]) -> dict[str, int]:
    """Figures of effects against the events sent: effects, distinct, duplicates, losses."""
    counts = Counter(event_ids)
    return {
        "events_sent": len(sent),
        "effects": len(event_ids),
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "losses": len(set(sent) - set(counts)),
    }
