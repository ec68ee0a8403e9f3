"""Maps CloudEvents ``type`` strings to their ``data`` models, and parses stream entries."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from pydantic import ValidationError

from shared.events.envelope import CloudEvent, EventData

_REGISTRY: dict[str, type[EventData]] = {}
T = TypeVar("T", bound=type[EventData])


def event(event_type: str, source: str) -> Callable[[T], T]:
    """Class decorator: register an :class:`EventData` model under its CloudEvents type."""

    def register(cls: T) -> T:
        if event_type in _REGISTRY and _REGISTRY[event_type] is not cls:
            raise ValueError(f"event type {event_type} registered twice")
        cls.event_type = event_type
        cls.source = source
        _REGISTRY[event_type] = cls
        return cls

    return register


def registry() -> dict[str, type[EventData]]:
    """All known event types (the package ``shared.events`` registers every producer's on import)."""
    return dict(_REGISTRY)


def model_for(event_type: str) -> type[EventData] | None:
    return registry().get(event_type)


class InvalidEvent(ValueError):
    """A stream entry that can never be processed; ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_event(raw: bytes | str, max_bytes: int | None = None) -> tuple[CloudEvent, EventData]:
    """Parse structured-mode CloudEvent JSON and validate its data against the registered model.

    Raises :class:`InvalidEvent` with reason ``oversized``, ``not_json``, ``not_cloudevent``,
    ``unknown_type`` or ``invalid_data``.
    """
    size = len(raw)
    if max_bytes is not None and size > max_bytes:
        raise InvalidEvent("oversized", f"{size} bytes > limit {max_bytes}")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent("not_json", str(exc)) from None
    if not isinstance(doc, dict):
        raise InvalidEvent("not_cloudevent", "the event is not a JSON object")
    try:
        envelope = CloudEvent.model_validate(doc)
    except ValidationError as exc:
        raise InvalidEvent("not_cloudevent", _brief(exc)) from None
    model = model_for(envelope.type)
    if model is None:
        raise InvalidEvent("unknown_type", f"no schema for type {envelope.type!r}")
    try:
        data = model.model_validate(envelope.data if envelope.data is not None else {})
    except ValidationError as exc:
        raise InvalidEvent("invalid_data", _brief(exc)) from None
    return envelope, data


def _brief(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
