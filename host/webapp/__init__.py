"""The residents' app at ``/app/``: static files (plain ES modules, no build step) served by every process.

The app is a client of the services' JSON APIs on the same origin; this module only serves its files, with
the headers an installable app needs (the service worker's scope, no caching of the shell's entry points
so an update reaches phones at the next visit).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse

from shared.web.auth import public

if TYPE_CHECKING:
    from host.runtime import Runtime

STATIC = Path(__file__).parent / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/manifest+json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
FRESH = {"index.html", "sw.js", "manifest.json"}
"""Checked at every visit (``no-cache``): the shell, the worker and the manifest decide which version runs."""
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # same origin only: the app talks to Linli and nothing else (no CDN, no map tiles)
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
}
AppPath = PathParam(max_length=200, pattern=r"^[A-Za-z0-9_\-./]+$")
_public = Depends(public())


def _files() -> dict[str, Path]:
    """Every servable file by its path below ``static/`` (a fixed list: no path from a request reaches the disk)."""
    return {p.relative_to(STATIC).as_posix(): p for p in STATIC.rglob("*") if p.is_file() and p.suffix in TYPES}


def _answer(name: str, path: Path) -> FileResponse:
    headers = dict(HEADERS)
    headers["Cache-Control"] = "no-cache" if name in FRESH else "public, max-age=300"
    if name == "sw.js":
        headers["Service-Worker-Allowed"] = "/app/"
    return FileResponse(path, media_type=TYPES[path.suffix], headers=headers)


def build_app_router(_runtime: Runtime) -> APIRouter:
    """``/app/`` and its files; any other path below it is a page of the app (its shell answers)."""
    files = _files()
    router = APIRouter(tags=["app"], dependencies=[_public], include_in_schema=False)

    @router.get("/app")
    async def bare() -> RedirectResponse:
        return RedirectResponse("/app/", status_code=308)

    @router.get("/app/")
    async def shell() -> FileResponse:
        return _answer("index.html", files["index.html"])

    @router.get("/app/{name:path}")
    async def asset(name: str = AppPath) -> FileResponse:
        if name in files:
            return _answer(name, files[name])
        if "." in name.rsplit("/", 1)[-1]:
            raise HTTPException(404, "没有该文件 / no such file")
        return _answer("index.html", files["index.html"])

    return router
