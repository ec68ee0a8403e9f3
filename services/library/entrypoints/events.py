"""Event handlers of the library service: partner libraries' BookReturned on their ingress streams, and
accounts' ResidentErased (the card linked to an erased person is anonymised)."""

from __future__ import annotations

from services.library.config import library_settings
from services.library.service_layer import erasure, partners
from shared.clock import as_utc
from shared.events.accounts import ResidentErased
from shared.events.library import BookReturned
from shared.events.registry import registry
from shared.messaging import consumer as consumer_module
from shared.messaging.consumer import EventConsumer, RejectEvent

consumer = EventConsumer(
    group="library", streams=["accounts", *(f"partner:{code}:in" for code in library_settings().partners)]
)
ACCOUNTS = "/linli/accounts"


def _stream_partner() -> str | None:
    """The partner whose ingress stream carried the event, when the consumer runtime exposes it."""
    var = getattr(consumer_module, "CURRENT_STREAM", None)
    stream = var.get(None) if var is not None else None
    if not stream:
        return None
    parts = stream.split(":")
    return parts[-2] if len(parts) >= 3 and parts[-3] == "partner" and parts[-1] == "in" else None


@consumer.on(BookReturned)
def on_partner_book_returned(ctx, event, data: BookReturned, session) -> None:
    """One of our books was returned at a partner's desk: check it in there (or dead-letter with a reason)."""
    partners.apply_returned(ctx, session, event, data, partner=_stream_partner())


def reject_unsupported(ctx, event, data, session) -> None:
    """Partners may only send BookReturned: any other known type is dead-lettered, not silently skipped.

    Accounts' own events on its stream are skipped (only ResidentErased concerns the library)."""
    if _stream_partner() is None and event.source == ACCOUNTS:
        return
    raise RejectEvent("unsupported_type", f"partners send only {BookReturned.event_type}, not {event.type}")


@consumer.on(ResidentErased)
def on_resident_erased(ctx, event, data: ResidentErased, session) -> None:
    """A person was erased in accounts: anonymise their card, cancel their holds (a partner may not send it)."""
    if _stream_partner() is not None or event.source != ACCOUNTS:
        reject_unsupported(ctx, event, data, session)
    erasure.erase_person(ctx, session, data.sub, as_utc(data.erased_at))


consumer.on(*[m for m in registry().values() if m not in (BookReturned, ResidentErased)])(reject_unsupported)
