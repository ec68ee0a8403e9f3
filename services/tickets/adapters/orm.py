"""The tickets store: tables (SQLModel) and the service's outbox/inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData
from sqlmodel import Field, SQLModel

from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox

metadata = MetaData()
outbox = Outbox(metadata, default_stream="tickets")
inbox = Inbox(metadata)


class TicketsTable(SQLModel):
    metadata = metadata


class Ticket(TicketsTable, table=True):
    __tablename__ = "ticket"

    id: str = Field(primary_key=True, max_length=32)
    category: str = Field(index=True, max_length=64)
    title: str = Field(max_length=200)
    description: str = Field(max_length=4000)
    community: str | None = Field(default=None, index=True, max_length=64)
    building: str | None = Field(default=None, max_length=32)
    unit: str | None = Field(default=None, max_length=32)
    reporter: str | None = Field(default=None, index=True, max_length=128)
    status: str = Field(default="submitted", index=True, max_length=32)
    created_at: datetime = Field(index=True)
    updated_at: datetime
