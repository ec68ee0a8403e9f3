"""The notify store: recipients and their preferences, routing rules, followers, the in-app inbox,
deliveries to external channels and a log row per delivery attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, MetaData, UniqueConstraint, event, update
from sqlmodel import Field, SQLModel

from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox

metadata = MetaData()
outbox = Outbox(metadata, default_stream="notify")
inbox = Inbox(metadata)


class NotifyTable(SQLModel):
    metadata = metadata


class Recipient(NotifyTable, table=True):
    """A person notify can reach, keyed by their principal id (JWT ``sub``), with their preferences.

    ``categories`` are the ticket categories a staff member is on duty for; ``channels`` is the ordered
    list of ``{"name", "url"}`` Apprise contact points (the first is tried first, the next is the
    fallback); ``muted`` maps a notify category (tickets, library, volunteers, system) to channel names
    switched off for it.
    """

    __tablename__ = "recipient"

    user_id: str = Field(primary_key=True, max_length=128)
    display_name: str = Field(max_length=64)
    roles: str = Field(default="resident", max_length=200)
    community: str | None = Field(default=None, max_length=64)
    categories: str = Field(default="*", max_length=500)
    on_duty: bool = Field(default=False)
    language: str = Field(default="zh-CN", max_length=8)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)
    digest_hour: int | None = None
    rate_limit: int = Field(default=5)
    rate_window_minutes: int = Field(default=10)
    channels: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    muted: dict[str, list[str]] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Rule(NotifyTable, table=True):
    """A routing rule: an event type (short name) goes to audiences with a template (data, not code)."""

    __tablename__ = "rule"

    event: str = Field(primary_key=True, max_length=100)
    audiences: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    category: str = Field(max_length=32)
    critical: str = Field(default="false", max_length=64)
    template: str = Field(max_length=100)


class ConfigVersion(NotifyTable, table=True):
    """One row counting changes to recipients and rules.

    Every insert, update or delete of a :class:`Recipient` or :class:`Rule` through the ORM bumps it in
    the same transaction, so routing (in any replica) may keep those rows in memory between batches and
    reload them only once the count has moved. A change made in SQL by hand must bump it as well.
    """

    __tablename__ = "config_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0)


def _config_changed(_mapper, connection, _target) -> None:
    table = ConfigVersion.__table__
    connection.execute(update(table).where(table.c.id == 1).values(version=table.c.version + 1))


for _model in (Recipient, Rule):
    for _name in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _name, _config_changed)


class Follower(NotifyTable, table=True):
    """Someone following a ticket (learnt from TicketFollowed)."""

    __tablename__ = "follower"

    ticket_id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(primary_key=True, max_length=128)


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
    category: str = Field(default="system", max_length=32)
    critical: bool = Field(default=False)
    archived_at: datetime | None = None


class Delivery(NotifyTable, table=True):
    """One message for one (event, recipient, external channel); sent by the dispatcher.

    ``status``: pending (waiting for ``due_at``), sending (claimed), sent, failed. ``fold`` rows that
    fall due together for the same recipient and channel go out as one message (digest, quiet hours,
    rate limit).
    """

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient", "channel", name="uq_delivery_event_recipient_channel"),
        Index("ix_delivery_due", "status", "due_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    event_id: str = Field(index=True, max_length=128)
    event_type: str = Field(max_length=256)
    event_source: str = Field(max_length=256)
    event_time: datetime
    correlation_id: str | None = Field(default=None, max_length=128)
    subject: str | None = Field(default=None, max_length=256)
    recipient: str = Field(index=True, max_length=128)
    channel: str = Field(max_length=32)
    category: str = Field(max_length=32)
    critical: bool = False
    fold: bool = False
    reason: str = Field(default="now", max_length=16)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    due_at: datetime
    created_at: datetime
    claimed_at: datetime | None = None
    sent_at: datetime | None = None
    title: str = Field(max_length=200)
    short: str = Field(max_length=1000)
    full: str = Field(max_length=4000)
    last_error: str | None = Field(default=None, max_length=1000)


class DeliveryAttempt(NotifyTable, table=True):
    """The delivery log: one row per attempt (and per fallback), for the activity feed."""

    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(index=True, max_length=32)
    event_id: str = Field(index=True, max_length=128)
    event_type: str = Field(max_length=256)
    recipient: str = Field(index=True, max_length=128)
    channel: str = Field(max_length=32)
    attempt: int
    at: datetime
    outcome: str = Field(max_length=16)
    response: str | None = Field(default=None, max_length=1000)
    folded: int = 1
