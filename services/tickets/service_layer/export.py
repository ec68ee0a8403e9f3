"""A resident's own tickets data (``GET /api/tickets/me/export``): reports, their history entries, follows, photos."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from services.tickets.adapters.orm import Follower, Ticket, TicketHistory, TicketPhoto
from services.tickets.service_layer.common import media_path
from shared.web.export import document, rows


def export(session: Session, sub: str, now: datetime) -> dict[str, Any]:
    reports = list(session.scalars(select(Ticket).where(Ticket.reporter == sub).order_by(Ticket.created_at)))
    ids = [t.id for t in reports]
    photos = list(session.scalars(select(TicketPhoto).where(TicketPhoto.ticket_id.in_(ids)))) if ids else []  # type: ignore[attr-defined]
    records = {
        "reports": rows(reports, without=("token",)),
        "history": rows(
            session.scalars(select(TicketHistory).where(TicketHistory.actor == sub).order_by(TicketHistory.id))
        ),
        "follows": rows(session.scalars(select(Follower).where(Follower.follower == sub))),
        "photos": [{"ticket_id": p.ticket_id, "path": media_path(p), "created_at": p.created_at} for p in photos],
    }
    return document("tickets", sub, now, records)
