"""The HTTP baseline: a bare FastAPI app served exactly like ``linli run`` (uvicorn, loopback, no access
log). ``python -m bench.bare_app PORT [TICKETS_DB]``. POST /bare validates a body like a ticket report and
answers 201; GET /bare answers a list of 20 small objects like a resident's ticket list.

Two references, not baselines, show the least a route that uses a database can cost here: plain
``sqlite3`` called on the event loop (no auth, no ORM, no thread hop). GET /bare/db?reporter=... reads
the same columns of a resident's tickets from the tickets service's SQLite file; POST /bare/db stores a
report as the service does (the ticket, its history entry and a TicketOpened outbox row, one commit) in a
private copy of those tables."""

from __future__ import annotations

import json
import sqlite3
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

app = FastAPI(title="bench baseline")
ITEMS = [
    {
        "id": f"T{i:05d}",
        "category": "manhole",
        "title": "井盖松动",
        "status": "submitted",
        "community": "北翟营",
        "building": "3",
        "assignee": None,
        "created_at": "2026-11-28T02:00:00Z",
    }
    for i in range(20)
]


class Report(BaseModel):
    category: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=4000)
    community: str | None = None
    building: str | None = None


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/bare", status_code=201)
async def create(body: Report) -> dict[str, Any]:
    return {"id": "T00001", **body.model_dump()}


@app.get("/bare")
async def listing() -> list[dict[str, Any]]:
    return ITEMS


DB_PATH = sys.argv[2] if len(sys.argv) > 2 else None
SUMMARY = (
    "SELECT id, category, title, status, community, building, assignee, created_at, first_response_due, "
    "resolution_due, escalation_level FROM ticket WHERE reporter = ? ORDER BY created_at DESC LIMIT 100"
)
_db: dict[str, sqlite3.Connection] = {}


def _reader() -> sqlite3.Connection:
    if "reader" not in _db:
        _db["reader"] = sqlite3.connect(f"file:{DB_PATH}?mode=ro", uri=True)
        _db["reader"].row_factory = sqlite3.Row
    return _db["reader"]


def _writer() -> sqlite3.Connection:
    """A private file with the tickets store's ticket, history and outbox tables (WAL, as the service)."""
    if "writer" not in _db:
        conn = sqlite3.connect(f"{DB_PATH}.bare-copy", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for (sql,) in _reader().execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name IN ('ticket', 'ticket_history', 'outbox') AND sql IS NOT NULL"
        ):
            conn.execute(
                sql.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)
                .replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1)
                .replace("CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX IF NOT EXISTS", 1)
            )
        _db["writer"] = conn
    return _db["writer"]


@app.get("/bare/db")
async def listing_from_db(reporter: str) -> list[dict[str, Any]]:
    return [dict(row) for row in _reader().execute(SUMMARY, (reporter,))]


@app.post("/bare/db", status_code=201)
async def create_in_db(body: Report) -> dict[str, Any]:
    conn = _writer()
    now = datetime.now(UTC).replace(tzinfo=None)
    ticket_id = f"T{uuid.uuid4().hex[:12].upper()}"
    row = {
        "id": ticket_id,
        **body.model_dump(),
        "status": "submitted",
        "created_at": now,
        "updated_at": now,
        "first_response_due": now + timedelta(hours=4),
        "resolution_due": now + timedelta(hours=24),
    }
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            f"INSERT INTO ticket ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            [v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in row.values()],
        )
        conn.execute(
            "INSERT INTO ticket_history (ticket_id, at, actor, action, to_status) VALUES (?, ?, ?, ?, ?)",
            (ticket_id, now.isoformat(sep=" "), "resident:bench", "open", "submitted"),
        )
        event = {
            "id": str(uuid.uuid4()),
            "type": "linli.tickets.TicketOpened.v1",
            "time": now.isoformat() + "Z",
            "data": {**body.model_dump(), "ticket_id": ticket_id},
        }
        conn.execute(
            "INSERT INTO outbox (event_id, stream, event_type, payload, created_at) VALUES (?, ?, ?, ?, ?)",
            (event["id"], "tickets", event["type"], json.dumps(event, ensure_ascii=False), now.isoformat(sep=" ")),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return {**row, "created_at": now, "updated_at": now}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)
