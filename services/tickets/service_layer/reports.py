"""Use cases of residents' reports."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from services.tickets.adapters.orm import Ticket
from shared.events.tickets import TicketOpened
from shared.runtime import ServiceContext


def new_ticket_id() -> str:
    return "T" + uuid.uuid4().hex[:12].upper()


def open_ticket(
    ctx: ServiceContext,
    session: Session,
    *,
    category: str,
    title: str,
    description: str,
    reporter: str | None,
    community: str | None = None,
    building: str | None = None,
    unit: str | None = None,
) -> Ticket:
    """Store a new report and record TicketOpened in the same transaction."""
    now = ctx.clock.now()
    ticket = Ticket(id=new_ticket_id(), category=category, title=title, description=description,
                    community=community, building=building, unit=unit, reporter=reporter,
                    created_at=now, updated_at=now)
    session.add(ticket)
    ctx.emit(session, TicketOpened(ticket_id=ticket.id, category=category, title=title, community=community,
                                   building=building, unit=unit, reporter=reporter), subject=ticket.id)
    return ticket
