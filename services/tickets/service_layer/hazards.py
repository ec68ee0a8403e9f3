"""Hazards found on volunteers' home visits become linked tickets, once per hazard."""

from __future__ import annotations

from sqlmodel import Session, select

from services.tickets.adapters.orm import Category, Ticket
from services.tickets.service_layer.reports import open_ticket
from shared.events.envelope import CloudEvent
from shared.events.volunteers import VisitHazardFound
from shared.service import ServiceContext

FALLBACK = "home_hazard"
ALIASES = {
    "gas": "leak",
    "water": "leak",
    "leak": "leak",
    "electric": "electrical",
    "electricity": "electrical",
    "wiring": "electrical",
    "lift": "lift",
    "elevator": "lift",
    "light": "street_light",
    "lamp": "street_light",
    "manhole": "manhole",
    "road": "manhole",
}


def category_for(session: Session, hazard_category: str) -> str:
    """The ticket category of a hazard: same code if it exists, else an alias, else 居家安全隐患."""
    code = (hazard_category or "").strip().lower()
    for candidate in (code, ALIASES.get(code)):
        if candidate and session.get(Category, candidate) is not None:
            return candidate
    return FALLBACK


def open_from_hazard(ctx: ServiceContext, session: Session, event: CloudEvent, data: VisitHazardFound) -> Ticket:
    """Open a ticket for the hazard unless one already exists for this ``hazard_id``."""
    existing = session.exec(select(Ticket).where(Ticket.source_hazard_id == data.hazard_id)).first()
    if existing is not None:
        return existing
    description = data.description.strip() or "入户走访发现安全隐患"
    code = category_for(session, data.category)
    kind = (data.category or "").strip().lower()
    attributes = {"medium": kind} if code == "leak" and kind in ("gas", "water") else {}
    return open_ticket(
        ctx,
        session,
        category=code,
        attributes=attributes,
        strict=False,
        title=f"入户隐患：{description[:60]}",
        description=description,
        reporter=data.reported_by,
        community=data.community,
        building=data.building,
        unit=data.unit,
        address=data.address,
        via="volunteers",
        source_hazard_id=data.hazard_id,
        causation=event,
    )
