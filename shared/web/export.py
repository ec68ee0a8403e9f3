"""A person's own data as one JSON document per service (PIPL art. 45: the right to a copy).

Each service answers ``GET /api/<service>/me/export`` from its own store, by the caller's ``sub``:
no service asks another, so a service that is down delays only its own part, and no service gathers
copies of what the others hold (an accounts-led export would have to). :func:`rows` turns ORM rows
into plain dicts (times in Asia/Shanghai) leaving out named columns (hashes, tokens), and
:func:`export_routes` is the one route every service mounts over its own ``export`` use case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import inspect
from sqlmodel import Session

from shared.clock import shown
from shared.identity import Principal
from shared.service import ServiceContext
from shared.web.auth import allow
from shared.web.fields import View
from shared.web.runner import Runner

Self = Annotated[Principal, Depends(allow(resident="self", volunteer="self"))]
"""Only the person themselves: an export is never read on someone's behalf."""


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


def export_routes(export: Callable[[Session, str, datetime], dict[str, Any]]) -> Callable[[ServiceContext], APIRouter]:
    """The router factory of ``GET /me/export`` over a service's ``export(session, sub, now)``."""

    def build(ctx: ServiceContext) -> APIRouter:
        api = APIRouter()
        run = Runner(ctx.store)

        @api.get("/me/export")
        async def export_mine(who: Self) -> ExportView:
            """Everything this service keeps about me, by my account (a resident's or volunteer's own)."""
            return ExportView.model_validate(await run.read(lambda s: export(s, who.sub, ctx.clock.now())))

        return api

    return build
