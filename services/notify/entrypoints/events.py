"""Event handlers of the notify service (consumer group ``notify``).

Every event type of tickets, library and volunteers is handled by one batch handler, which applies
the routing rule stored for each event's type (no rule: nothing to do) to a run of events at once.
TicketFollowed also records a follower.
"""

from __future__ import annotations

from services.notify.service_layer import audience, erasure, routing
from shared.events.accounts import HouseholdMoved, PersonRegistered, ResidentErased
from shared.events.registry import registry
from shared.messaging.consumer import EventConsumer

consumer = EventConsumer(group="notify", streams=["tickets", "library", "volunteers", "activities", "accounts"])
PRODUCERS = ("/linli/tickets", "/linli/library", "/linli/volunteers", "/linli/activities")


def on_events(ctx, events, session) -> None:
    """Route a run of events to their recipients (in-app messages and deliveries in this transaction)."""
    routing.notify_events(ctx, events, session)


consumer.handles_batch(*[m for m in registry().values() if m.source in PRODUCERS])(on_events)

consumer.handles_batch(PersonRegistered, HouseholdMoved)(audience.on_accounts_events)  # homes, for notices by place


@consumer.on(ResidentErased)
def on_resident_erased(ctx, event, data: ResidentErased, session) -> None:
    """A person was erased in accounts: their recipient row, messages, deliveries, follows and home go."""
    erasure.erase_person(session, data.sub)
    audience.forget(session, data.sub)
