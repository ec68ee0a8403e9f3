"""Event handlers of the tickets service (consumer group ``tickets``)."""

from __future__ import annotations

from services.tickets.service_layer import erasure, hazards, repairs_booked
from shared.clock import as_utc
from shared.errors import DomainError
from shared.events.accounts import ResidentErased
from shared.events.activities import RepairCompleted, SessionBooked
from shared.events.volunteers import VisitHazardFound
from shared.messaging.consumer import EventConsumer, RejectEvent

consumer = EventConsumer(group="tickets", streams=["volunteers", "activities", "accounts"])


@consumer.on(VisitHazardFound)
def on_visit_hazard_found(ctx, event, data: VisitHazardFound, session) -> None:
    """A volunteer found a hazard at an elder's home: open a linked ticket (once per hazard_id)."""
    try:
        hazards.open_from_hazard(ctx, session, event, data)
    except DomainError as exc:  # e.g. the hazard category was removed: retrying cannot help
        raise RejectEvent("ticket_refused", str(exc)) from None


@consumer.on(SessionBooked)
def on_session_booked(ctx, event, data: SessionBooked, session) -> None:
    """A 小修小补 ticket was booked with an artisan (activities): acknowledge it with the booking."""
    repairs_booked.on_booked(ctx, session, data)


@consumer.on(RepairCompleted)
def on_repair_completed(ctx, event, data: RepairCompleted, session) -> None:
    """The artisan finished the job of a booked ticket: resolve it."""
    repairs_booked.on_completed(ctx, session, data)


@consumer.on(ResidentErased)
def on_resident_erased(ctx, event, data: ResidentErased, session) -> None:
    """A person was erased in accounts: anonymise their reports, notes and photos, drop their follows."""
    erasure.erase_person(ctx, session, data.sub, as_utc(data.erased_at))
