"""Events published by the tickets service on stream ``<prefix>:tickets`` (source ``/linli/tickets``).

User references (``reporter``, ``actor``, ``assignee``...) are opaque principal ids (JWT ``sub``),
never names, phone numbers or ID numbers.
"""

from __future__ import annotations

from datetime import datetime

from shared.events.envelope import EventData
from shared.events.registry import event

SOURCE = "/linli/tickets"


class TicketEvent(EventData):
    """Common fields; ``reporter``/``assignee`` are principal ids so notify can address people."""

    ticket_id: str
    category: str
    category_name: str | None = None
    category_name_en: str | None = None
    community: str | None = None
    safety_critical: bool = False
    title: str | None = None
    reporter: str | None = None
    assignee: str | None = None


@event("cn.linli.tickets.TicketOpened.v1", SOURCE)
class TicketOpened(TicketEvent):
    title: str
    building: str | None = None
    unit: str | None = None
    reporter: str | None = None
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    source_hazard_id: str | None = None


@event("cn.linli.tickets.TicketAcknowledged.v1", SOURCE)
class TicketAcknowledged(TicketEvent):
    actor: str
    note: str | None = None
    reporter: str | None = None


@event("cn.linli.tickets.TicketAssigned.v1", SOURCE)
class TicketAssigned(TicketEvent):
    assignee: str
    actor: str | None = None
    previous_assignee: str | None = None


@event("cn.linli.tickets.TicketStatusChanged.v1", SOURCE)
class TicketStatusChanged(TicketEvent):
    from_status: str
    to_status: str
    actor: str | None = None
    note: str | None = None
    reporter: str | None = None


@event("cn.linli.tickets.TicketResolved.v1", SOURCE)
class TicketResolved(TicketEvent):
    actor: str
    note: str | None = None
    reporter: str | None = None
    source_hazard_id: str | None = None


@event("cn.linli.tickets.TicketClosed.v1", SOURCE)
class TicketClosed(TicketEvent):
    reason: str
    actor: str | None = None
    reporter: str | None = None


@event("cn.linli.tickets.TicketReopened.v1", SOURCE)
class TicketReopened(TicketEvent):
    """``comment`` is no longer sent (``None``): what a resident writes stays in the tickets store, where
    erasure reaches it, instead of in every stream and dead letter."""

    actor: str
    comment: str | None = None
    reporter: str | None = None


@event("cn.linli.tickets.TicketRated.v1", SOURCE)
class TicketRated(TicketEvent):
    """``comment`` is no longer sent (``None``), as for TicketReopened."""

    rating: int
    comment: str | None = None
    actor: str | None = None


@event("cn.linli.tickets.TicketFollowed.v1", SOURCE)
class TicketFollowed(TicketEvent):
    follower: str


@event("cn.linli.tickets.TicketResponseOverdue.v1", SOURCE)
class TicketResponseOverdue(TicketEvent):
    level: int
    escalated_to: str | None = None
    due: datetime
    supervisor: str | None = None


@event("cn.linli.tickets.TicketResolutionOverdue.v1", SOURCE)
class TicketResolutionOverdue(TicketEvent):
    level: int
    escalated_to: str | None = None
    due: datetime
    supervisor: str | None = None
