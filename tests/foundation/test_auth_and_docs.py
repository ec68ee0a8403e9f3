"""Identity and roles on every route; generated docs are current."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import timedelta

import jwt
import pytest

from host import catalog
from host.docs import render_event_schemas
from shared.config import get_settings
from shared.web.auth import declared_routes, mint_token
from shared.web.jwks import kid_of
from tests.conftest import token
from tests.support import probe


async def test_missing_or_bad_tokens_get_401_and_wrong_roles_get_403(start_runtime):
    async with start_runtime([probe.module]) as (_runtime, client):
        body = {"title": "路灯不亮"}
        assert (await client.post("/api/probe/report", json=body)).status_code == 401
        r = await client.post("/api/probe/report", json=body, headers={"Authorization": "Bearer not-a-jwt"})
        assert r.status_code == 401 and "invalid token" in r.json()["detail"]
        expired = mint_token("resident:x", ["resident"], ttl=timedelta(seconds=-5))
        r = await client.post("/api/probe/report", json=body, headers={"Authorization": f"Bearer {expired}"})
        assert r.status_code == 401
        r = await client.post("/api/probe/report", json=body, headers=token("volunteer:x", "volunteer"))
        assert r.status_code == 403 and "resident" in r.json()["detail"]
        r = await client.post("/api/probe/report", json=body, headers=token("resident:x", "resident"))
        assert r.status_code == 201


def _segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def test_a_token_whose_header_is_not_a_jwt_header_gets_401_without_its_text(start_runtime):
    """The key is picked from the header alone (before PyJWT checks the whole token): whatever the header
    holds, the caller gets a plain 401 that does not repeat it, and a well-formed token still passes."""
    good = mint_token("resident:x", ["resident"])
    _, payload, signature = good.split(".")
    bad_headers = [
        "",
        "!!!!",
        "x" * 5000,
        _segment(b"[1, 2]"),
        _segment(b'{"alg": "EdDSA"}'),  # no kid
        _segment(b'{"alg": "EdDSA", "kid": 7}'),
        _segment(b"\xff\xfe not json"),
        _segment(b'{"alg": "EdDSA", "kid": "nobody-has-this-key"}'),
    ]
    async with start_runtime([probe.module]) as (_runtime, client):
        for header in bad_headers:
            bearer = {"Authorization": f"Bearer {header}.{payload}.{signature}"}
            r = await client.post("/api/probe/report", json={"title": "路灯"}, headers=bearer)
            assert r.status_code == 401, (header[:40], r.status_code)
            assert header[:8] not in r.text or not header, header[:40]
        kid = jwt.get_unverified_header(good)["kid"]
        assert kid_of(good) == kid
        r = await client.post("/api/probe/report", json={"title": "路灯"}, headers={"Authorization": f"Bearer {good}"})
        assert r.status_code == 201


async def test_a_verified_token_is_refused_once_it_expires_or_the_key_changes(start_runtime, monkeypatch, tmp_path):
    body = {"title": "路灯不亮"}
    async with start_runtime([probe.module]) as (_runtime, client):
        # ``exp`` is whole seconds: a 2 s token is valid for at least one more second from now
        short_token = mint_token("resident:x", ["resident"], ttl=timedelta(seconds=2))
        short = {"Authorization": f"Bearer {short_token}"}
        assert (await client.post("/api/probe/report", json=body, headers=short)).status_code == 201
        expires = jwt.decode(short_token, options={"verify_signature": False})["exp"]
        await asyncio.sleep(max(0.0, expires - time.time()) + 0.2)  # verified (and remembered) before; expired now
        r = await client.post("/api/probe/report", json=body, headers=short)
        assert r.status_code == 401 and "expired" in r.json()["detail"].lower()

        steady = token("resident:y", "resident")
        assert (await client.post("/api/probe/report", json=body, headers=steady)).status_code == 201
        monkeypatch.setenv(
            "LINLI_SIGNING_KEY_FILE", str(tmp_path / "another-key.jwk")
        )  # the JWKS now holds another key
        get_settings.cache_clear()
        try:
            mint_token("resident:z", ["resident"])  # makes that key
            r = await client.post("/api/probe/report", json=body, headers=steady)
            assert r.status_code == 401  # signed with the old key: not accepted from memory
        finally:
            monkeypatch.undo()
            get_settings.cache_clear()


async def test_health_and_readiness(start_runtime):
    async with start_runtime([probe.module]) as (_runtime, client):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        r = await client.get("/readyz")
        assert r.status_code == 200, r.text
        checks = r.json()["checks"]
        persistence = checks.pop("redis.persistence")  # the machine's Redis keeps nothing: a warning, still ready
        assert checks == {"redis": "ok", "probe.store": "ok", "probe.groups": "ok"}
        assert persistence.startswith(("ok", "warning"))
        metrics = (await client.get("/metrics")).text
        assert "linli_outbox_backlog" in metrics
        count = 'linli_http_requests_total{method="GET",route="/healthz",status="200"}'
        before = float(next(line for line in metrics.splitlines() if line.startswith(count)).split()[-1])
        await client.get("/healthz")
        after = (await client.get("/metrics")).text
        assert float(next(line for line in after.splitlines() if line.startswith(count)).split()[-1]) == before + 1


def test_every_route_of_every_service_declares_who_may_call_it(settings):
    runtime = catalog.build_runtime(None, settings=settings)
    app = runtime.build_app()
    routes = list(declared_routes(app.routes))
    for ctx in runtime.contexts.values():
        ctx.store.dispose()
    paths = {path for _, path, _ in routes}
    for name in runtime.contexts:  # the check reaches into every service's router
        assert any(p.startswith(f"/api/{name}/") for p in paths), f"no routes of {name} found"
    undeclared = [f"{methods} {path}" for methods, path, access in routes if access is None]
    assert undeclared == []


def test_tokens_with_unknown_roles_are_refused():
    with pytest.raises(ValueError):
        mint_token("x", ["mayor"])


def test_event_schemas_in_docs_are_current():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "docs" / "events"
    expected = render_event_schemas()
    stale = [
        name
        for name, text in expected.items()
        if not (folder / name).exists() or (folder / name).read_text(encoding="utf-8") != text
    ]
    extra = sorted(p.name for p in folder.glob("*.json") if p.name not in expected)
    assert not stale and not extra, f"run `linli docs`: stale {stale}, no longer produced {extra}"


def test_asyncapi_document_in_docs_is_current():
    from pathlib import Path

    from host.docs import render_asyncapi

    path = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"
    assert path.read_text(encoding="utf-8") == render_asyncapi(), "run `linli docs` to regenerate docs/asyncapi.json"


def test_openapi_documents_in_docs_are_current():
    """docs/openapi/<service>.json is what each service serves at /openapi.json (for generated clients)."""
    from pathlib import Path

    from host.docs import render_openapi

    folder = Path(__file__).resolve().parents[2] / "docs" / "openapi"
    expected = render_openapi()
    assert sorted(expected) == [
        "accounts.json",
        "activities.json",
        "library.json",
        "linli.json",
        "notify.json",
        "tickets.json",
        "volunteers.json",
    ]
    stale = [n for n, text in expected.items() if not (folder / n).exists() or (folder / n).read_text("utf-8") != text]
    assert not stale, f"run `linli docs` to regenerate docs/openapi/: stale {stale}"
