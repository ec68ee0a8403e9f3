"""The AsyncAPI document of a runtime's broker: served at ``/asyncapi`` and written by ``linli docs``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from host.runtime import Runtime


def asyncapi_document(runtime: Runtime) -> dict[str, Any]:
    """AsyncAPI 3.0 of the streams ``runtime`` publishes and consumes (its FastStream broker)."""
    from faststream.specification import AsyncAPI

    spec = AsyncAPI(
        runtime.broker,
        title="Linli 邻里 events",
        version="1.0.0",
        description="Event streams of Linli's services on Redis. Entry layout: docs/events/README.md.",
    )
    document: dict[str, Any] = spec.to_specification().to_jsonable()
    return document
