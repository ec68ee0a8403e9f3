"""A person's own data as one JSON document per service (PIPL art. 45: the right to a copy).

Each service answers ``GET /api/<service>/me/export`` from its own store, by the caller's ``sub``:
no service asks another, so a service that is down delays only its own part, and no service gathers
copies of what the others hold (an accounts-led export would have to). :func:`rows` turns ORM rows
into plain dicts (times in Asia/Shanghai) leaving out named columns (hashes, tokens).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import inspect

from shared.clock import shown
from shared.web.fields import View


class ExportView(View):
    """What one service keeps about the caller: record kinds, each a list of rows."""

    service: str
    subject: str
    exported_at: datetime | None
    records: dict[str, list[dict[str, Any]]]


def rows(found: Iterable[Any], *, without: Iterable[str] = ()) -> list[dict[str, Any]]:
    """ORM rows as dicts of their columns (times shown in Asia/Shanghai), minus ``without``."""
    skip = set(without)
    out = []
    for row in found:
        mapper = inspect(row).mapper
        out.append({c.key: _plain(getattr(row, c.key)) for c in mapper.column_attrs if c.key not in skip})
    return out


def document(service: str, subject: str, now: datetime, records: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"service": service, "subject": subject, "exported_at": shown(now), "records": records}


def _plain(value: Any) -> Any:
    return shown(value) if isinstance(value, datetime) else value
