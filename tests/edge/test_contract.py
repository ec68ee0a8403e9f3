"""The OpenAPI document describes every body: what generated clients and fuzzers rely on."""

from __future__ import annotations

import httpx
import pytest

WRITES = ("post", "put", "patch")


@pytest.fixture(scope="module")
def openapi(linli_all) -> dict:
    return httpx.get(f"{linli_all.url}/openapi.json", timeout=10).json()


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method, path, operation


def _free_form(schema: dict | None) -> bool:
    """No schema, ``{}``, or an object of anything (``dict[str, Any]``)."""
    if not schema:
        return True
    if (
        schema.get("type") == "object"
        and not schema.get("properties")
        and schema.get("additionalProperties") in (None, True, {})
    ):
        return True
    return schema.get("type") == "array" and _free_form(schema.get("items"))


def test_every_operation_documents_its_success_body(openapi):
    missing = []
    for method, path, operation in _operations(openapi):
        success = {k: v for k, v in operation["responses"].items() if k.startswith("2")}
        ok = any(k.startswith("3") for k in operation["responses"])  # a redirect answers with no body
        for response in success.values():
            content = response.get("content")
            if content is None:  # 204 and redirects carry no body
                ok = True
            for media, spec in (content or {}).items():
                if media != "application/json" or not _free_form(spec.get("schema")):
                    ok = True
        if not ok:
            missing.append(f"{method.upper()} {path}")
    assert not missing, f"{len(missing)} operations without a response schema: {missing}"


def test_every_write_documents_its_request_body(openapi):
    missing = []
    for method, path, operation in _operations(openapi):
        if method not in WRITES or path.startswith("/console"):
            continue
        if operation.get("requestBody") is None and not _no_input_needed(operation):
            missing.append(f"{method.upper()} {path}")
    assert not missing, f"{len(missing)} write operations without a request body: {missing}"


def _no_input_needed(operation: dict) -> bool:
    """Actions named by their path alone (``POST /inbox/read-all``) say "(no body)" in their description."""
    return "(no body)" in (operation.get("description") or "") + (operation.get("summary") or "")


def test_errors_are_documented_as_problem_json(openapi):
    for _method, path, operation in _operations(openapi):
        if path.startswith("/api/"):
            assert "application/problem+json" in operation["responses"]["422"]["content"], path
    schemas = openapi["components"]["schemas"]
    assert {"type", "title", "status", "code", "detail", "errors"} <= set(schemas["Problem"]["properties"])
