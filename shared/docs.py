"""Generated documentation: a JSON Schema per event type and the AsyncAPI document."""

from __future__ import annotations

import json
from pathlib import Path

from shared.events.envelope import CloudEvent
from shared.events.registry import registry


def event_schema(event_type: str) -> dict:
    """The JSON Schema of a whole CloudEvent of ``event_type`` (envelope plus its data model)."""
    model = registry()[event_type]
    envelope = CloudEvent.model_json_schema(mode="serialization")
    data_schema = model.model_json_schema(mode="serialization")
    defs = data_schema.pop("$defs", None)
    envelope["properties"]["data"] = data_schema
    if defs:
        envelope["$defs"] = defs
    envelope["title"] = event_type
    envelope["$id"] = f"urn:linli:schema:{event_type}"
    envelope["properties"]["type"] = {"const": event_type, "type": "string"}
    envelope["properties"]["source"]["examples"] = [model.source]
    envelope["required"] = sorted(set(envelope.get("required", [])) | {"data", "specversion"})
    return envelope


def render_event_schemas() -> dict[str, str]:
    """File name -> JSON text for every registered event type."""
    return {f"{t}.json": json.dumps(event_schema(t), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
            for t in sorted(registry())}


def write_event_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_event_schemas().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def render_asyncapi() -> str:
    """AsyncAPI 3.0 of every service, generated from the FastStream broker of ``linli run``."""
    from faststream.specification import AsyncAPI

    from services import catalog
    from shared.config import Settings
    from shared.runtime import Runtime

    settings = Settings(redis_url="redis://127.0.0.1:6379/0", stream_prefix="linli", consumer_name="<process>")
    runtime = Runtime(catalog.load(None), settings=settings)  # fixed values: the document does not depend on env
    spec = AsyncAPI(runtime.broker, title="Linli 邻里 events", version="1.0.0",
                    description="Event streams of Linli's services on Redis. Entry layout: docs/events/README.md.")
    for ctx in runtime.contexts.values():
        ctx.store.dispose()
    return json.dumps(spec.to_specification().to_jsonable(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_asyncapi(path: Path) -> None:
    path.write_text(render_asyncapi(), encoding="utf-8")
