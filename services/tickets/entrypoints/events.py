"""Event handlers of the tickets service (consumer group ``tickets``)."""

from __future__ import annotations

from services.tickets.service_layer import hazards
from shared.errors import DomainError
from shared.events.volunteers import VisitHazardFound
from shared.messaging.consumer import EventConsumer, RejectEvent

consumer = EventConsumer(group="tickets", streams=["volunteers"])


@consumer.on(VisitHazardFound)
def on_visit_hazard_found(ctx, event, data: VisitHazardFound, session) -> None:
    """A volunteer found a hazard at an elder's home: open a linked ticket (once per hazard_id)."""
    try:
        hazards.open_from_hazard(ctx, session, event, data)
    except DomainError as exc:  # e.g. the hazard category was removed: retrying cannot help
        raise RejectEvent("ticket_refused", str(exc)) from None
