"""Event handlers of the notify service (consumer group ``notify``)."""

from __future__ import annotations

from services.notify.service_layer import routing
from shared.events.tickets import TicketOpened
from shared.messaging.consumer import EventConsumer

consumer = EventConsumer(group="notify", streams=["tickets", "library", "volunteers"])


@consumer.on(TicketOpened)
def on_ticket_opened(ctx, event, data: TicketOpened, session) -> None:
    routing.ticket_opened(ctx, event, data, session)
