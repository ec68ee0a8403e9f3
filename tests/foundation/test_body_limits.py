"""The JSON nesting limit (shared/web/limits.py) at its edge: 32 levels pass, 33 are a 400 ``too_deep``,
whether the brackets are few or many, and brackets inside strings do not count as nesting."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from shared.web.limits import MAX_JSON_DEPTH, BodyLimits


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app.add_middleware(BodyLimits)
    return TestClient(app)


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (nested(MAX_JSON_DEPTH), 200),
        (nested(MAX_JSON_DEPTH + 1), 400),
        (json.dumps({"a": [nested(1)] * 500, "b": nested(MAX_JSON_DEPTH - 2)}), 200),  # many brackets, shallow
        (json.dumps({"t": "[" * 1000}), 200),  # brackets in a string: text, not nesting
        (json.dumps({"t": "{" * 40, "n": json.loads(nested(MAX_JSON_DEPTH))}), 400),  # both: the nesting counts
        ('{"title": "井盖松动", "building": "3"}', 200),
    ],
)
def test_json_nesting_is_limited_at_its_edge(client: TestClient, body: str, status: int):
    r = client.post("/echo", content=body.encode(), headers={"content-type": "application/json"})
    assert r.status_code == status
    if status == 400:
        assert r.json()["code"] == "too_deep"
