"""Stream names and the stream entry layout (see docs/events/README.md).

An entry has one required field, ``cloudevent``: the structured-mode CloudEvent JSON (UTF-8).
Any Redis client can write one with ``XADD <stream> * cloudevent '<json>'`` and read it back with
``XRANGE``. Our relays add the field ``type`` (the CloudEvents type) so operators can filter
without parsing; consumers ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.typing import EncodableT, FieldT

EVENT_FIELD = "cloudevent"
TYPE_FIELD = "type"
ORIGIN_FIELD = "origin"  # on retry-stream entries: the stream the event first arrived on

PRODUCERS = ("tickets", "library", "volunteers", "notify")


@dataclass(frozen=True)
class StreamNames:
    """All keys under one prefix (tests use a unique prefix per test)."""

    prefix: str = "linli"

    def events(self, service: str) -> str:
        """The stream a service publishes to, e.g. ``linli:tickets``."""
        return f"{self.prefix}:{service}"

    def retry(self, group: str) -> str:
        """Redriven entries for one consumer group only."""
        return f"{self.prefix}:retry:{group}"

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}:dlq"

    def errors(self, group: str) -> str:
        """Hash of the last error per pending entry id of a group (read when dead-lettering)."""
        return f"{self.prefix}:errors:{group}"

    def partner_ingress(self, partner: str) -> str:
        return f"{self.prefix}:partner:{partner}:in"

    def partner_egress(self, partner: str) -> str:
        return f"{self.prefix}:partner:{partner}:out"

    def all_event_streams(self) -> list[str]:
        return [self.events(s) for s in PRODUCERS]

    @classmethod
    def configured(cls, prefix: str, *, cluster: bool = False) -> StreamNames:
        """The names of a deployment: on a Redis Cluster the prefix is a hash tag, so that every key a
        ``MULTI`` touches shares one slot (:mod:`shared.messaging.connection`)."""
        from shared.messaging.connection import tagged_prefix

        return cls(tagged_prefix(prefix) if cluster else prefix)


def encode_entry(event_json: str | bytes, event_type: str) -> dict[FieldT, EncodableT]:
    """The fields of a stream entry for one event (the CloudEvent JSON as text or UTF-8 bytes)."""
    return {EVENT_FIELD: event_json, TYPE_FIELD: event_type}


def entry_payload(fields: dict[bytes, bytes]) -> bytes | None:
    """The raw CloudEvent bytes of an entry read with a bytes client (``None`` when missing)."""
    return fields.get(EVENT_FIELD.encode())
