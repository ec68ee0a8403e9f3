"""Generated documentation, built in this one place: a JSON Schema per event type, the AsyncAPI
document of the streams and an OpenAPI document per service."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host.specs import asyncapi_document
from shared.config import Settings
from shared.events.envelope import CloudEvent
from shared.events.registry import registry

if TYPE_CHECKING:
    from host.runtime import Runtime


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
    return {
        f"{t}.json": json.dumps(event_schema(t), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        for t in sorted(registry())
    }


def write_event_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_event_schemas().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


@contextmanager
def _documented(targets: list[str] | None = None) -> Iterator[Runtime]:
    """A runtime of ``targets`` (default every service) with fixed settings, so that the generated
    documents do not depend on the environment; its stores live in a folder removed afterwards."""
    from host import catalog
    from host.runtime import Runtime

    with tempfile.TemporaryDirectory(prefix="linli-docs-") as folder:
        settings = Settings(
            redis_url="redis://127.0.0.1:6379/0", stream_prefix="linli", consumer_name="<process>", var_dir=Path(folder)
        )
        runtime = Runtime(catalog.load(targets), settings=settings)
        try:
            yield runtime
        finally:
            runtime.dispose()


def render_asyncapi() -> str:
    """AsyncAPI 3.0 of every service, as ``linli run`` would serve it."""
    with _documented() as runtime:
        return _json(asyncapi_document(runtime))


def openapi_document(targets: list[str] | None = None) -> dict[str, Any]:
    """The OpenAPI document of ``targets`` (default: every service in one app, as ``linli run`` serves it)."""
    with _documented(targets) as runtime:
        document: dict[str, Any] = runtime.build_app().openapi()
        return document


def render_openapi() -> dict[str, str]:
    """File name -> OpenAPI 3.1 text of each service's HTTP API (``openapi/<service>.json``) and of all of
    them merged (``openapi/linli.json``, what the gateway serves at ``/api/docs/openapi.json``)."""
    from host import catalog

    documents = {f"{name}.json": _json(openapi_document([name])) for name in catalog.available()}
    documents["linli.json"] = _json(openapi_document())  # all services in one, for the gateway's /api/docs
    return documents


def write_asyncapi(path: Path) -> None:
    path.write_text(render_asyncapi(), encoding="utf-8")


def write_openapi(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_openapi().items():
        (folder / name).write_text(text, encoding="utf-8")
        written.append(folder / name)
    return written


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
