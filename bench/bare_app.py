"""The HTTP baseline: a bare FastAPI app served exactly like ``linli run`` (uvicorn, loopback, no access
log). ``python -m bench.bare_app PORT [TICKETS_DB]``. POST /bare validates a body like a ticket report and
answers 201; GET /bare answers a list of 20 small objects like a resident's ticket list.

GET /bare/db?reporter=... is a reference, not the baseline: the same columns of a resident's tickets
read from the tickets service's SQLite file with plain ``sqlite3`` (a connection per worker thread, no
auth, no ORM), to show how much of a list request is the database read itself."""

from __future__ import annotations

import sqlite3
import sys
import threading
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

app = FastAPI(title="bench baseline")
ITEMS = [{"id": f"T{i:05d}", "category": "manhole", "title": "井盖松动", "status": "submitted",
          "community": "北翟营", "building": "3", "assignee": None, "created_at": "2026-11-28T02:00:00Z"}
         for i in range(20)]


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
SUMMARY = ("SELECT id, category, title, status, community, building, assignee, created_at, first_response_due, "
           "resolution_due, escalation_level FROM ticket WHERE reporter = ? ORDER BY created_at DESC LIMIT 100")
_local = threading.local()


@app.get("/bare/db")
def listing_from_db(reporter: str) -> list[dict[str, Any]]:
    if not hasattr(_local, "conn"):
        _local.conn = sqlite3.connect(f"file:{DB_PATH}?mode=ro", uri=True)
        _local.conn.row_factory = sqlite3.Row
    return [dict(row) for row in _local.conn.execute(SUMMARY, (reporter,))]


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)
