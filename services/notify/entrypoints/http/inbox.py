"""The caller's in-app inbox: list, unread count, mark read, archive, and the live stream (SSE)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from sse_starlette.sse import EventSourceResponse

from services.notify.entrypoints.http.deps import Anyone, NoteId
from services.notify.entrypoints.http.schemas import MarkedView, NoteView, UnreadView, page_of_views
from services.notify.service_layer import inbox, views
from shared.errors import Invalid
from shared.service import ServiceContext
from shared.web.fields import INT64
from shared.web.pages import Page, Paging
from shared.web.runner import Runner

STREAM = {
    200: {
        "description": "Server-sent events: `event: notification`, `id: <message id>`, `data: <NoteView JSON>`",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


def build_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    @router.get("/inbox")
    async def my_inbox(who: Anyone, page: Paging, unread: bool = False, archived: bool = False) -> Page[NoteView]:
        """The caller's in-app messages, newest first (``unread``, ``archived`` filter)."""
        return page_of_views(NoteView, await run.rows(views.inbox, who.sub, page, unread=unread, archived=archived))

    @router.get("/inbox/unread-count")
    async def unread_count(who: Anyone) -> UnreadView:
        """How many of the caller's messages are unread."""
        return UnreadView.model_validate(await run.read(views.unread_count, who.sub))

    @router.post("/inbox/read-all")
    async def read_all(who: Anyone) -> MarkedView:
        """Mark all the caller's messages read (no body)."""
        return MarkedView(marked=await run(inbox.read_all, who.sub, ctx.clock.now()))

    def _mark(session: Any, who: str, note_id: int, field: str) -> dict[str, Any]:
        return views.note(inbox.mark(session, who, note_id, field, ctx.clock.now()))

    @router.post("/inbox/{note_id}/read")
    async def mark_read(note_id: NoteId, who: Anyone) -> NoteView:
        """Mark one of the caller's messages read (no body)."""
        return NoteView.model_validate(await run(_mark, who.sub, note_id, "read_at"))

    @router.post("/inbox/{note_id}/archive")
    async def archive(note_id: NoteId, who: Anyone) -> NoteView:
        """Archive one of the caller's messages (no body); it leaves the inbox list and the unread count."""
        return NoteView.model_validate(await run(_mark, who.sub, note_id, "archived_at"))

    @router.get("/inbox/stream", response_class=EventSourceResponse, responses=STREAM)  # type: ignore[arg-type]
    async def stream(
        who: Anyone,
        after: Annotated[int | None, Query(ge=0, le=INT64, description="resume after this message id")] = None,
        last_event_id: Annotated[str | None, Header(max_length=20, description="resume after this id")] = None,
    ) -> EventSourceResponse:
        """Server-sent events: one ``notification`` per new message; resumes from ``Last-Event-ID``.

        Each poll is its own short read-only unit of work; nothing is held between polls, so a client
        that leaves frees everything at once. The token may come as ``?access_token=`` (EventSource).
        """
        start = resume_point(last_event_id, after)
        cursor = start if start is not None else await run.read(inbox.last_id, who.sub)
        poll = float(ctx.state.get("stream_poll", 1.0))

        async def messages() -> AsyncIterator[dict[str, str]]:
            nonlocal cursor
            while True:
                for note in await run.read(inbox.newer_than, who.sub, cursor):
                    cursor = note.id or cursor
                    yield {
                        "event": "notification",
                        "id": str(note.id),
                        "data": NoteView.model_validate(views.note(note)).model_dump_json(),
                    }
                await asyncio.sleep(poll)

        return EventSourceResponse(messages(), ping=15)

    return router


def resume_point(last_event_id: str | None, after: int | None) -> int | None:
    """Where a stream starts: after ``Last-Event-ID`` (an id this stream sent) or ``?after=``; None: from now."""
    if last_event_id is None or last_event_id == "":
        return after
    if not last_event_id.isascii() or not last_event_id.isdigit() or int(last_event_id) > INT64:
        raise Invalid("Last-Event-ID 应为消息编号 / Last-Event-ID must be a message id", code="bad_last_event_id")
    return int(last_event_id)
