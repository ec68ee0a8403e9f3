"""What accounts itself does after erasing a person, beyond the register row (``register.erase``).

Accounts' own events name a person (``PersonRegistered`` carries the name, every person event the
home's levels), so an erasure also reaches them: the person's rows in the outbox are redacted in
the erasing transaction (one not yet sent goes out redacted), and :func:`scrub_stream` deletes the
person's earlier entries from the accounts stream (``XDEL``), keeping only ``ResidentErased``, so
that no consumer replaying the stream learns the name or the home again.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from services.accounts.adapters.orm import Person, outbox
from shared.erasure import ERASED_TEXT
from shared.events.accounts import ResidentErased
from shared.messaging.streams import EVENT_FIELD
from shared.service import ServiceContext

PLACE_FIELDS = ("household_id", "community", "estate", "building", "unit", "from_household_id")
SCRUB_WINDOW = timedelta(days=2)
"""Erasures this recent are looked for in the stream (each process scrubs each person once)."""
PAGE = 500


def redact_outbox(session: Session, person_id: str) -> int:
    """Blank the name and home in the person's outbox rows; the rows changed."""
    table = outbox.table
    rows = session.execute(
        select(table.c.id, table.c.payload).where(
            table.c.payload.contains(person_id), table.c.event_type != ResidentErased.event_type
        )
    ).all()
    changed = 0
    for row_id, payload in rows:
        event = json.loads(payload)
        data = event.get("data") or {}
        if data.get("person_id") != person_id:
            continue
        event["data"] = redacted(data)
        session.execute(update(table).where(table.c.id == row_id).values(payload=json.dumps(event, ensure_ascii=False)))
        changed += 1
    return changed


def redacted(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if "name" in out:
        out["name"] = ERASED_TEXT
    for key in PLACE_FIELDS:
        if key in out:
            out[key] = None
    return out


async def scrub_stream(ctx: ServiceContext, now: datetime) -> int:
    """Delete recently erased people's earlier entries from the accounts stream; the entries deleted."""
    done: set[str] = ctx.state.setdefault("erasure_scrubbed", set())
    with ctx.store.transaction(readonly=True) as session:
        recent = set(
            session.scalars(
                select(Person.id).where(Person.erased_at.is_not(None), Person.erased_at >= now - SCRUB_WINDOW)  # type: ignore[union-attr,operator]
            )
        )
    todo = recent - done
    if not todo:
        return 0
    stream = ctx.names.events("accounts")
    doomed: list[bytes] = []
    start: bytes | str = "-"
    while True:
        entries = await ctx.redis.xrange(stream, min=start, max="+", count=PAGE)
        for entry_id, fields in entries:
            if _of(fields, todo):
                doomed.append(entry_id)
        if len(entries) < PAGE:
            break
        start = b"(" + entries[-1][0]
    for i in range(0, len(doomed), PAGE):
        await ctx.redis.xdel(stream, *doomed[i : i + PAGE])
    done |= todo
    return len(doomed)


def _of(fields: dict[bytes, bytes], people: set[str]) -> bool:
    raw = fields.get(EVENT_FIELD.encode())
    if raw is None:
        return False
    try:
        event = json.loads(raw)
    except ValueError:
        return False
    data = event.get("data") or {}
    return event.get("type") != ResidentErased.event_type and data.get("person_id") in people
