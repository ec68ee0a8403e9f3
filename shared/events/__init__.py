"""Event contracts: the CloudEvents envelope, the type registry, one module of data models per producer."""

from shared.events.envelope import CloudEvent, EventData, new_event, schema_uri
from shared.events.registry import InvalidEvent, event, model_for, parse_event, registry

# Every producer's contracts, registered as they are imported; the registry itself imports none.
from shared.events import accounts, activities, library, notify, tickets, volunteers  # noqa: F401  isort: skip

__all__ = [
    "CloudEvent",
    "EventData",
    "InvalidEvent",
    "event",
    "model_for",
    "new_event",
    "parse_event",
    "registry",
    "schema_uri",
]
