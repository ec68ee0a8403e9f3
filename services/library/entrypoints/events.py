"""Event handlers of the library service: partner libraries' BookReturned on their ingress streams."""

from __future__ import annotations

from services.library.config import library_settings
from services.library.service_layer import partners
from shared.events.library import BookReturned
from shared.events.registry import registry
from shared.messaging import consumer as consumer_module
from shared.messaging.consumer import EventConsumer, RejectEvent

consumer = EventConsumer(group="library", streams=[f"partner:{code}:in" for code in library_settings().partners])


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
    """Partners may only send BookReturned: any other known type is dead-lettered, not silently skipped."""
    raise RejectEvent("unsupported_type", f"partners send only {BookReturned.event_type}, not {event.type}")


consumer.on(*[model for name, model in sorted(registry().items()) if model is not BookReturned])(reject_unsupported)
