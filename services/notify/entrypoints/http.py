"""HTTP routes of the notify service, mounted at /api/notify."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select
from sse_starlette.sse import EventSourceResponse

from services.notify.adapters.orm import Delivery, DeliveryAttempt, Notification, Recipient, Rule
from services.notify.service_layer import inbox, recipients
from services.notify.service_layer.recipients import Preferences, RecipientIn
from services.notify.service_layer.rules import check_rule
from shared.clock import local
from shared.service import ServiceContext
from shared.web.auth import ROLES, Principal, allow

ANYONE = allow(*ROLES)
Anyone = Annotated[Principal, Depends(ANYONE)]
Staff = Annotated[Principal, Depends(allow("staff", "operator"))]
Operator = Annotated[Principal, Depends(allow("operator"))]


class NotificationOut(BaseModel):
    id: int
    event_type: str
    subject: str | None
    title: str
    body: str
    category: str
    critical: bool
    created_at: datetime
    read_at: datetime | None
    archived_at: datetime | None


class RuleIn(BaseModel):
    audiences: list[str] = Field(min_length=1)
    category: str
    critical: str = "false"
    template: str | None = None


def shown(note: Notification) -> dict:
    """A message for the API, times in Asia/Shanghai."""
    out = NotificationOut.model_validate(note, from_attributes=True).model_dump()
    for key in ("created_at", "read_at", "archived_at"):
        out[key] = local(out[key]).isoformat() if out[key] else None
    return out


def build_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()

    def session(readonly: bool = False) -> Session:
        return ctx.store.transaction(readonly=readonly)

    # -- inbox ------------------------------------------------------------------------------
    @router.get("/inbox")
    def my_inbox(
        who: Anyone, limit: int = Query(50, ge=1, le=200), unread: bool = False, archived: bool = False
    ) -> list[dict]:
        """The caller's in-app messages, newest first (``unread``, ``archived`` filter)."""
        with session(readonly=True) as s:
            return [shown(n) for n in inbox.listing(s, who.sub, unread=unread, archived=archived, limit=limit)]

    @router.get("/inbox/unread-count")
    def unread_count(who: Anyone) -> dict:
        """How many of the caller's messages are unread."""
        with session(readonly=True) as s:
            return {"unread": inbox.unread_count(s, who.sub)}

    @router.post("/inbox/read-all")
    def read_all(who: Anyone) -> dict:
        """Mark all the caller's messages read."""
        with session() as s:
            return {"marked": inbox.read_all(s, who.sub, ctx.clock.now())}

    def _mark(who: Principal, note_id: int, field: str) -> dict:
        with session() as s:
            note = inbox.mark(s, who.sub, note_id, field, ctx.clock.now())
            if note is None:
                raise HTTPException(404, f"消息不存在 / no message {note_id}")
            return shown(note)

    @router.post("/inbox/{note_id}/read")
    def mark_read(note_id: int, who: Anyone) -> dict:
        """Mark one of the caller's messages read."""
        return _mark(who, note_id, "read_at")

    @router.post("/inbox/{note_id}/archive")
    def archive(note_id: int, who: Anyone) -> dict:
        """Archive one of the caller's messages (it leaves the inbox list and the unread count)."""
        return _mark(who, note_id, "archived_at")

    @router.get("/inbox/stream")
    async def stream(request: Request, who: Anyone, after: int | None = None) -> EventSourceResponse:
        """Server-sent events: one ``notification`` per new message; resumes from ``Last-Event-ID``."""
        start = request.headers.get("last-event-id") or after
        with session() as s:
            cursor = int(start) if start is not None and str(start).isdigit() else inbox.last_id(s, who.sub)
        poll = float(ctx.state.get("stream_poll", 1.0))

        async def messages():
            nonlocal cursor
            while True:
                if await request.is_disconnected():
                    return
                with Session(ctx.store.engine) as s:
                    new = await asyncio.to_thread(inbox.newer_than, s, who.sub, cursor)
                for note in new:
                    cursor = note.id
                    yield {
                        "event": "notification",
                        "id": str(note.id),
                        "data": json.dumps(shown(note), ensure_ascii=False),
                    }
                await asyncio.sleep(poll)

        return EventSourceResponse(messages(), ping=15)

    # -- preferences and recipients ---------------------------------------------------------
    @router.get("/preferences")
    def my_preferences(who: Anyone) -> dict:
        """The caller's preferences (defaults when never set)."""
        with session() as s:
            return recipients.describe(s.get(Recipient, who.sub), who.sub)

    @router.put("/preferences")
    def set_preferences(body: Preferences, who: Anyone) -> dict:
        """Change the caller's own language, time zone, quiet hours, digest, rate limit, channels."""
        with session() as s:
            person = recipients.own_preferences(s, who.sub, who.name or who.sub, list(who.roles), body)
            return recipients.describe(person, who.sub)

    @router.put("/recipients/{user_id}", status_code=200)
    def put_recipient(user_id: str, body: RecipientIn, who: Staff) -> dict:
        """Register or update a person notify can reach (staff duty, language, channels, quiet hours)."""
        with session() as s:
            return recipients.describe(recipients.upsert_recipient(s, user_id, body), user_id)

    @router.get("/recipients/{user_id}")
    def get_recipient(user_id: str, who: Staff) -> dict:
        """A recipient with masked channel addresses."""
        with session() as s:
            person = s.get(Recipient, user_id)
            if person is None:
                raise HTTPException(404, f"接收人不存在 / no recipient {user_id}")
            return recipients.describe(person, user_id)

    # -- rules ------------------------------------------------------------------------------
    @router.get("/rules")
    def list_rules(who: Staff) -> list[dict]:
        """The routing rules in force."""
        with session() as s:
            return [r.model_dump() for r in s.exec(select(Rule).order_by(Rule.event)).all()]

    @router.put("/rules/{event}")
    def put_rule(event: str, body: RuleIn, who: Operator) -> dict:
        """Change where an event type goes (its template must exist in every language)."""
        templates = ctx.state["templates"]
        rule = Rule(
            event=event,
            audiences=body.audiences,
            category=body.category,
            critical=body.critical.lower(),
            template=body.template or event,
        )
        try:
            check_rule(rule)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        if rule.template not in templates.names():
            raise HTTPException(422, f"没有模板 / no template {rule.template}")
        with session() as s:
            s.merge(rule)
        return rule.model_dump()

    # -- delivery log -----------------------------------------------------------------------
    @router.get("/deliveries")
    def deliveries(
        who: Staff,
        recipient: str | None = None,
        event_id: str | None = None,
        status: str | None = None,
        limit: int = Query(50, ge=1, le=500),
    ) -> list[dict]:
        """The activity feed: deliveries with every attempt, by recipient, event and status."""
        with session() as s:
            query = select(Delivery)
            if recipient:
                query = query.where(Delivery.recipient == recipient)
            if event_id:
                query = query.where(Delivery.event_id == event_id)
            if status:
                query = query.where(Delivery.status == status)
            rows = s.exec(query.order_by(col(Delivery.created_at).desc(), col(Delivery.id)).limit(limit)).all()
            ids = [r.id for r in rows]
            attempts = (
                s.exec(
                    select(DeliveryAttempt)
                    .where(col(DeliveryAttempt.delivery_id).in_(ids))
                    .order_by(col(DeliveryAttempt.id))
                ).all()
                if ids
                else []
            )
            by_delivery: dict[str, list] = {}
            for a in attempts:
                by_delivery.setdefault(a.delivery_id, []).append(
                    {
                        "attempt": a.attempt,
                        "at": local(a.at).isoformat(),
                        "outcome": a.outcome,
                        "response": a.response,
                        "folded": a.folded,
                    }
                )
            return [
                {
                    "id": r.id,
                    "event_id": r.event_id,
                    "event_type": r.event_type,
                    "recipient": r.recipient,
                    "channel": r.channel,
                    "category": r.category,
                    "critical": r.critical,
                    "reason": r.reason,
                    "status": r.status,
                    "attempts": r.attempts,
                    "due_at": local(r.due_at).isoformat(),
                    "sent_at": local(r.sent_at).isoformat() if r.sent_at else None,
                    "title": r.title,
                    "last_error": r.last_error,
                    "log": by_delivery.get(r.id, []),
                }
                for r in rows
            ]

    return router
