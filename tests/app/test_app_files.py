"""What a phone fetches before the app runs: the shell, the manifest that makes it installable, the service
worker with its scope, the vendored QR library; nothing from another origin."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from fastapi import FastAPI

from host.webapp import STATIC, build_app_router


@pytest.fixture
async def client():
    app = FastAPI()
    app.include_router(build_app_router(None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://linli.test") as c:
        yield c


async def test_the_shell_manifest_and_worker_make_an_installable_app(client):
    shell = await client.get("/app/")
    assert shell.status_code == 200 and shell.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in shell.text and 'rel="manifest" href="/app/manifest.json"' in shell.text
    assert shell.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in shell.headers["content-security-policy"]

    manifest = await client.get("/app/manifest.json")
    assert manifest.headers["content-type"] == "application/manifest+json"
    m = manifest.json()
    assert m["start_url"] == "/app/" and m["display"] == "standalone" and m["lang"] == "zh-CN"
    sizes = {i["sizes"] for i in m["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in m["icons"]:
        got = await client.get(icon["src"])
        assert got.status_code == 200 and got.content[:8] == b"\x89PNG\r\n\x1a\n"

    worker = await client.get("/app/sw.js")
    assert worker.headers["service-worker-allowed"] == "/app/" and worker.headers["cache-control"] == "no-cache"
    for path in re.findall(r'"(/app/[^"]*)"', worker.text):  # every file the worker caches for offline use exists
        assert (await client.get(path)).status_code == 200, path


async def test_pages_of_the_app_answer_the_shell_and_unknown_files_404(client):
    assert (await client.get("/app/ticket/T1")).text == (await client.get("/app/")).text
    assert (await client.get("/app/js/nothing.js")).status_code == 404
    assert (await client.get("/app/../host/webapp/__init__.py")).status_code == 404
    assert (await client.get("/app", follow_redirects=False)).headers["location"] == "/app/"


def test_no_file_of_the_app_loads_anything_from_another_origin():
    for path in STATIC.rglob("*"):
        if path.suffix in (".html", ".js", ".mjs", ".css", ".json"):
            text = path.read_text()
            found = re.findall(r"""(?:src|href|url\(|import[^'"]*|fetch\()\s*=?\s*['"]?(https?://[^'")\s]+)""", text)
            assert not found, f"{path.name} loads {found}"
    assert json.loads((STATIC / "manifest.json").read_text())["scope"] == "/app/"
