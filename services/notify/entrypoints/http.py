"""HTTP routes of the notify service, mounted at /api/notify."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlmodel import col, select

from services.notify.adapters.orm import Notification, Recipient
from shared.runtime import ServiceContext
from shared.web.auth import ROLES, Principal, allow

ANYONE = allow(*ROLES)


class RecipientIn(BaseModel):
    user_id: str = Field(min_length=1, max_length=128)
    display_name: str = Field(min_length=1, max_length=64)
    roles: list[str] = ["resident"]
    community: str | None = None
    categories: list[str] = ["*"]
    on_duty: bool = False
    language: str = "zh-CN"


class NotificationOut(BaseModel):
    id: int
    event_type: str
    subject: str | None
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None


def build_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()

    @router.get("/inbox", response_model=list[NotificationOut])
    def my_inbox(who: Annotated[Principal, Depends(ANYONE)], limit: int = 50) -> list[Notification]:
        """The caller's in-app messages, newest first."""
        with ctx.store.transaction() as session:
            query = (select(Notification).where(Notification.recipient == who.sub)
                     .order_by(col(Notification.created_at).desc(), col(Notification.id).desc()).limit(min(limit, 200)))
            return list(session.exec(query).all())

    @router.put("/recipients/{user_id}", status_code=200)
    def put_recipient(user_id: str, body: RecipientIn,
                      who: Annotated[Principal, Depends(allow("staff", "operator"))]) -> dict:
        """Register or update a person notify can reach (staff duty, language)."""
        with ctx.store.transaction() as session:
            person = session.get(Recipient, user_id) or Recipient(user_id=user_id, display_name=body.display_name)
            person.display_name = body.display_name
            person.roles = ",".join(body.roles)
            person.community = body.community
            person.categories = ",".join(body.categories)
            person.on_duty = body.on_duty
            person.language = body.language
            session.add(person)
        return {"user_id": user_id}

    return router
