"""The notify store: recipients with their duty, and the in-app inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox

metadata = MetaData()
outbox = Outbox(metadata, default_stream="notify")
inbox = Inbox(metadata)


class NotifyTable(SQLModel):
    metadata = metadata


class Recipient(NotifyTable, table=True):
    """A person notify can reach, keyed by their principal id (JWT ``sub``)."""

    __tablename__ = "recipient"

    user_id: str = Field(primary_key=True, max_length=128)
    display_name: str = Field(max_length=64)
    roles: str = Field(default="resident", max_length=200)
    community: str | None = Field(default=None, max_length=64)
    categories: str = Field(default="*", max_length=500)
    on_duty: bool = Field(default=False)
    language: str = Field(default="zh-CN", max_length=8)


class Notification(NotifyTable, table=True):
    """One in-app message for one recipient."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("event_id", "recipient", name="uq_notification_event_recipient"),)

    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(index=True, max_length=128)
    event_id: str = Field(max_length=128)
    event_type: str = Field(max_length=256)
    correlation_id: str | None = Field(default=None, max_length=128)
    subject: str | None = Field(default=None, max_length=256)
    title: str = Field(max_length=200)
    body: str = Field(max_length=4000)
    created_at: datetime = Field(index=True)
    read_at: datetime | None = None
