"""Event handlers of the notify service (consumer group ``notify``).

Every event type of tickets, library and volunteers is handled by the same handler, which applies
the routing rule stored for the type (no rule: nothing to do). TicketFollowed also records a follower.
"""

from __future__ import annotations

from services.notify.service_layer import routing
from shared.events.registry import registry
from shared.events.tickets import TicketFollowed
from shared.messaging.consumer import EventConsumer

consumer = EventConsumer(group="notify", streams=["tickets", "library", "volunteers"])
PRODUCERS = ("/linli/tickets", "/linli/library", "/linli/volunteers")


def on_event(ctx, event, data, session) -> None:
    """Route one event to its recipients (inbox rows and deliveries in this transaction)."""
    if isinstance(data, TicketFollowed):
        routing.follow(session, data)
    routing.notify_event(ctx, event, data, session)


consumer.on(*[m for m in registry().values() if m.source in PRODUCERS])(on_event)
