"""Event handlers of the volunteers service (consumer group ``volunteers``): repair tickets of hazards, and
accounts' ResidentErased."""

from __future__ import annotations

from services.volunteers.service_layer import erasure, visits
from shared.clock import as_utc
from shared.events.accounts import ResidentErased
from shared.events.tickets import TicketOpened, TicketResolved
from shared.messaging.consumer import EventConsumer

consumer = EventConsumer(group="volunteers", streams=["tickets", "accounts"])


@consumer.on(TicketOpened)
def on_ticket_opened(ctx, event, data: TicketOpened, session) -> None:
    """A ticket opened for one of our hazards: attach its id to the hazard (shown on the visit)."""
    if data.source_hazard_id:
        visits.ticket_opened(session, data.source_hazard_id, data.ticket_id)


@consumer.on(TicketResolved)
def on_ticket_resolved(ctx, event, data: TicketResolved, session) -> None:
    """The repair is done: the hazard is resolved with the ticket's note."""
    visits.ticket_resolved(session, data.source_hazard_id, data.ticket_id, data.note, as_utc(event.time))


@consumer.on(ResidentErased)
def on_resident_erased(ctx, event, data: ResidentErased, session) -> None:
    """A person was erased in accounts: anonymise their volunteer record, end their pairings."""
    erasure.erase_person(session, data.sub, as_utc(data.erased_at))
