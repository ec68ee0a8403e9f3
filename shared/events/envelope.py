"""The CloudEvents 1.0 envelope every Linli event travels in (structured mode, JSON)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared import tracing
from shared.clock import utcnow


class EventData(BaseModel):
    """Base of every event's ``data`` model. Subclasses set ``event_type`` and ``source``.

    Events carry ids and what a consumer needs to act or to write a message; never national ID
    numbers, full phone numbers or health notes.
    """

    model_config = ConfigDict(extra="forbid")

    event_type: ClassVar[str]
    source: ClassVar[str]

    @classmethod
    def short_name(cls) -> str:
        return cls.event_type.rsplit(".", 2)[-2]


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event; ``correlationid``, ``causationid``, ``traceparent``, ``tracestate`` are extensions.

    The last two are the CloudEvents distributed-tracing extension (W3C Trace Context): the trace the
    event was created in (``shared/tracing.py``).
    """

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256)
    type: str = Field(min_length=1, max_length=256)
    time: datetime
    subject: str | None = Field(default=None, max_length=256)
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    correlationid: str | None = Field(default=None, max_length=128)
    causationid: str | None = Field(default=None, max_length=128)
    # bounded, not parsed here: a malformed value from a partner starts a new trace, it is no reason to refuse
    traceparent: str | None = Field(default=None, max_length=128)
    tracestate: str | None = Field(default=None, max_length=512)
    data: Any = None

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)


def schema_uri(event_type: str) -> str:
    """The ``dataschema`` URI of an event type; the schema file is docs/events/<type>.json."""
    return f"urn:linli:schema:{event_type}"


def new_event(
    data: EventData,
    *,
    subject: str | None = None,
    correlation_id: str | None = None,
    causation: CloudEvent | None = None,
    time: datetime | None = None,
    source: str | None = None,
) -> CloudEvent:
    """Wrap ``data`` in a fresh envelope. A caused event inherits its cause's correlation id, and the
    trace: the current span's context while tracing, else its cause's ``traceparent`` unchanged."""
    event_id = str(uuid.uuid4())
    traceparent = tracestate = None
    if tracing.ENABLED:
        traceparent, tracestate = tracing.context_for(causation)
    elif causation is not None:
        traceparent, tracestate = causation.traceparent, causation.tracestate
    if causation is not None:
        correlation_id = correlation_id or causation.correlationid or causation.id
    return CloudEvent(
        id=event_id,
        source=source or data.source,
        type=data.event_type,
        time=time or utcnow(),
        subject=subject,
        dataschema=schema_uri(data.event_type),
        correlationid=correlation_id or event_id,
        causationid=causation.id if causation is not None else None,
        traceparent=traceparent,
        tracestate=tracestate,
        data=data.model_dump(mode="json"),
    )
