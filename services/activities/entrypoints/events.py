"""Event handlers of the activities service (consumer group ``activities``): accounts' ResidentErased."""

from __future__ import annotations

from services.activities.service_layer import erasure
from shared.clock import as_utc
from shared.events.accounts import ResidentErased
from shared.messaging.consumer import EventConsumer

consumer = EventConsumer(group="activities", streams=["accounts"])


@consumer.on(ResidentErased)
def on_resident_erased(ctx, event, data: ResidentErased, session) -> None:
    """A person was erased in accounts: give up their places, anonymise their sign-ups and bookings."""
    erasure.erase_person(ctx, session, data.sub, as_utc(data.erased_at))
