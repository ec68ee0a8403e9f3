"""The operators' web console at ``/console``: live events, group board, dead letters, traces, health.

Server-rendered Jinja2 pages with htmx (vendored, no build step); the live log uses server-sent
events. Every page needs the ``operator`` role; personal data in events is masked.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sse_starlette.sse import EventSourceResponse

from ops import dlq as dlq_ops
from ops.console.auth import COOKIE, cookie_header, operator_console
from ops.console.sampler import GroupSampler
from ops.entries import EventFilter, event_streams, find, follow, is_entry_id, parse_when, recent, server_now_id
from ops.flows import trace as trace_flow
from ops.groups import deliveries_of
from shared.web.auth import Principal, principal_of, public

DeadId = Annotated[str, PathParam(max_length=41, pattern=r"^\d{1,20}-\d{1,20}$", description="dead-letter entry id")]

HERE = Path(__file__).parent
STATIC = {
    "htmx.min.js": "text/javascript",
    "console.js": "text/javascript",
    "console.css": "text/css",
    "htmx.LICENSE.txt": "text/plain",
}
templates = Jinja2Templates(directory=HERE / "templates")
Operator = Annotated[Principal, Depends(operator_console())]
_public = Depends(public())


def _filter(request: Request) -> EventFilter:
    q = request.query_params
    types = [t.strip() for t in q.get("type", "").split(",") if t.strip()]
    try:
        since, until = parse_when(q.get("since")), parse_when(q.get("until"))
    except (ValueError, OverflowError):
        raise HTTPException(422, "时间格式：10m、2h、1d 或 ISO 时间 / times are 10m, 2h, 1d or ISO") from None
    return EventFilter(
        types=types,
        source=q.get("source") or None,
        subject=q.get("subject") or None,
        correlation=q.get("correlation") or None,
        since=since,
        until=until,
    )


def build_console_router(runtime, sample_every_s: float = 10.0) -> APIRouter:
    """The console for ``runtime`` (its Redis, stream prefix and readiness checks)."""
    sampler = GroupSampler(runtime, every_s=sample_every_s)

    @asynccontextmanager
    async def lifespan(_app):
        task = asyncio.create_task(sampler.run(), name="console:sampler")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    router = APIRouter(prefix="/console", tags=["console"], lifespan=lifespan)
    redis, names = runtime.redis, runtime.names

    def page(request: Request, name: str, who: Principal | None = None, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"who": who, "prefix": names.prefix, **context})

    @router.get("/static/{name}", dependencies=[_public], include_in_schema=False)
    async def static(name: str) -> FileResponse:
        if name not in STATIC:
            raise HTTPException(404, f"没有该文件 / no file {name}")
        return FileResponse(
            HERE / "static" / name, media_type=STATIC[name], headers={"Cache-Control": "public, max-age=3600"}
        )

    # -- login --------------------------------------------------------------------------------
    @router.get("/login", dependencies=[_public], response_class=HTMLResponse)
    async def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html")

    @router.post("/login", dependencies=[_public], response_class=HTMLResponse)
    async def login(request: Request, token: Annotated[str, Form()]) -> Response:
        """Exchange a pasted operator token for an HttpOnly cookie."""
        try:
            principal = await principal_of(token.strip())
        except jwt.PyJWTError as exc:
            return templates.TemplateResponse(
                request, "login.html", {"error": f"令牌无效 / invalid token: {exc}"}, status_code=401
            )
        if "operator" not in principal.roles:
            return templates.TemplateResponse(
                request, "login.html", {"error": "需要运维角色 / this token has no operator role"}, status_code=403
            )
        response = RedirectResponse("/console", status_code=303)
        response.headers["Set-Cookie"] = cookie_header(token.strip(), request)
        return response

    @router.post(
        "/logout",
        dependencies=[_public],
        status_code=303,
        response_class=RedirectResponse,
        responses={303: {"description": "to the login page, with the cookie cleared"}},
    )
    async def logout() -> Response:
        """Sign out of the console (no body): the cookie is cleared."""
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    # -- live event log -----------------------------------------------------------------------
    @router.get("", response_class=HTMLResponse)
    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def events_page(request: Request, who: Operator) -> HTMLResponse:
        """Newest events with filters; new ones arrive over server-sent events."""
        flt = _filter(request)
        start = await server_now_id(redis)  # the live stream starts here: nothing falls in between
        rows = list(reversed(await recent(redis, event_streams(names), flt, limit=50)))
        query = request.url.include_query_params(after=start).query
        return page(request, "events.html", who, events=rows, q=request.query_params, stream_query=query)

    @router.get("/events/stream", response_class=EventSourceResponse)
    async def events_stream(request: Request, who: Operator) -> EventSourceResponse:
        """Server-sent events: one ``row`` (a rendered table row) per new matching event."""
        flt = _filter(request)
        row = templates.get_template("_event_row.html")
        start = request.headers.get("last-event-id") or request.query_params.get("after") or "$"
        if start != "$" and not is_entry_id(start):
            raise HTTPException(422, "无效的起点 / invalid start id")

        async def rows():
            async for ev in follow(redis, event_streams(names), flt, block_ms=1000, start=start):
                if await request.is_disconnected():
                    return
                if ev is None:
                    continue
                yield {"event": "row", "id": ev.entry_id, "data": row.render(ev=ev).replace("\n", " ")}

        return EventSourceResponse(rows(), ping=15)

    @router.get("/events/{ref:path}", response_class=HTMLResponse)
    async def event_page(request: Request, ref: str, who: Operator) -> HTMLResponse:
        """One event in full, with what each consumer group did with it."""
        ev = await find(redis, names, ref)
        if ev is None:
            raise HTTPException(404, f"找不到事件 / no event {ref}")
        deliveries = await deliveries_of(redis, names, ev)
        return page(
            request,
            "event.html",
            who,
            ev=ev,
            deliveries=deliveries,
            pretty=json.dumps(ev.event, ensure_ascii=False, indent=2),
        )

    # -- groups -------------------------------------------------------------------------------
    @router.get("/groups", response_class=HTMLResponse)
    async def groups_page(request: Request, who: Operator) -> HTMLResponse:
        stats = await sampler.sample()
        return page(request, "groups.html", who, stats=stats, sampler=sampler)

    @router.get("/groups/board", response_class=HTMLResponse)
    async def groups_board(request: Request, who: Operator) -> HTMLResponse:
        stats = await sampler.sample()
        return page(request, "_board.html", who, stats=stats, sampler=sampler)

    # -- dead letters -------------------------------------------------------------------------
    @router.get("/dlq", response_class=HTMLResponse)
    async def dlq_page(request: Request, who: Operator) -> HTMLResponse:
        q = request.query_params
        flt = dlq_ops.DlqFilter(q.get("group") or None, q.get("reason") or None, q.get("type") or None)
        items = await dlq_ops.list_dead(redis, names, flt, limit=500)
        return page(
            request, "dlq.html", who, items=items, q=q, discarded=await dlq_ops.discarded(redis, names, limit=10)
        )

    def _after(request: Request, name: str, **context) -> Response:
        if request.headers.get("hx-request"):
            return page(request, name, **context)
        return RedirectResponse("/console/dlq", status_code=303)

    @router.post("/dlq/{dead_id}/redrive", response_class=HTMLResponse)
    async def dlq_redrive(request: Request, dead_id: DeadId, who: Operator) -> Response:
        """Send one dead letter back to the group that failed it."""
        dead = await dlq_ops.get_dead(redis, names, dead_id)
        if dead is None:
            raise HTTPException(404, f"没有该死信 / no dead letter {dead_id}")
        added = await dlq_ops.redrive(redis, names, [dead_id], operator=who.sub)
        retry_ref = f"{names.retry(dead.group)}/{added[0]}" if added else None
        return _after(request, "_dlq_done.html", d=dead, action="redriven", retry_ref=retry_ref)

    @router.post("/dlq/{dead_id}/discard", response_class=HTMLResponse)
    async def dlq_discard(
        request: Request, dead_id: DeadId, who: Operator, reason: Annotated[str, Form(min_length=1, max_length=500)]
    ) -> Response:
        """Drop one dead letter; the reason is required and kept in the audit stream."""
        dead = await dlq_ops.get_dead(redis, names, dead_id)
        if dead is None:
            raise HTTPException(404, f"没有该死信 / no dead letter {dead_id}")
        if not reason.strip():
            raise HTTPException(422, "丢弃需要原因 / a reason is required")
        await dlq_ops.discard(redis, names, [dead_id], reason=reason, operator=who.sub)
        return _after(request, "_dlq_done.html", d=dead, action="discarded", reason=reason)

    @router.post("/dlq/redrive", response_class=HTMLResponse)
    async def dlq_redrive_all(
        request: Request,
        who: Operator,
        group: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
        type: Annotated[str, Form()] = "",
    ) -> Response:
        """Redrive every dead letter matching the page's filter (group, reason, type), or all of them."""
        items = await dlq_ops.list_dead(redis, names, dlq_ops.DlqFilter(group or None, reason or None, type or None))
        await dlq_ops.redrive(redis, names, [d.id for d in items], operator=who.sub)
        return RedirectResponse("/console/dlq", status_code=303)

    # -- trace --------------------------------------------------------------------------------
    @router.get("/trace", response_class=HTMLResponse)
    async def trace_page(request: Request, who: Operator, id: str = "") -> HTMLResponse:
        """The causal chain of one flow as a timeline."""
        hops = await trace_flow(redis, names, id.strip()) if id.strip() else []
        total = max([h.since_start_ms for h in hops] + [1.0])
        return page(request, "trace.html", who, hops=hops, correlation=id.strip(), total=total)

    # -- health -------------------------------------------------------------------------------
    @router.get("/health", response_class=HTMLResponse)
    async def health(request: Request, who: Operator) -> HTMLResponse:
        """The readiness checks of this process (the same as ``/readyz``) as a strip."""
        ok, checks = await runtime.readiness()
        return page(request, "_health.html", who, ok=ok, checks=checks)

    return router
