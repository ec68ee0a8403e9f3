"""Stored photos, addressed by their SHA-256 (EXIF removed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import FileResponse, RedirectResponse

from services.tickets.entrypoints.http.deps import MediaName
from services.tickets.service_layer.media import readable, stored_file
from shared.service import ServiceContext
from shared.web.auth import public
from shared.web.runner import Runner

Expires = Annotated[int | None, Query(ge=0, le=2**40, description="a signed link's expiry (Unix seconds)")]
Signature = Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$", description="a signed link's HMAC")]

IMAGE = {"description": "the photo", "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}
ELSEWHERE = {"description": "the photo is in an object store: a presigned URL, valid no longer than the link"}
PUBLIC_URL_S = 3600
"""How long the object store's URL of a public ticket's photo is valid (the redirect is cached for less)."""


def build(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["media"])
    run = Runner(ctx.store)

    @router.get(
        "/media/{name}",
        dependencies=[Depends(public())],
        response_class=FileResponse,
        responses={200: IMAGE, 307: ELSEWHERE},
    )
    async def media(name: MediaName, exp: Expires = None, sig: Signature = None) -> Response:
        """A stored photo (EXIF removed), addressed by its SHA-256. A public ticket's photo is cached for a
        year (immutable); a private ticket's needs the signed, short-lived link its views give (``exp``,
        ``sig``) and is cached privately until that expires. With an object store (S3, MinIO, OSS, COS)
        the answer is a redirect to a presigned URL that expires no later than the link."""
        seconds = await run.read(readable, name, exp, sig, ctx.settings.pii_key, ctx.clock.now())
        sha256, _, ext = name.partition(".")
        found, media_type = stored_file(ctx, sha256, ext, PUBLIC_URL_S if seconds is None else seconds)
        if isinstance(found, str):
            cache = "public, max-age=600" if seconds is None else f"private, max-age={seconds}"
            return RedirectResponse(found, status_code=307, headers={"Cache-Control": cache})
        cache = "public, max-age=31536000, immutable" if seconds is None else f"private, max-age={seconds}"
        return FileResponse(found, media_type=media_type, headers={"Cache-Control": cache})

    return router
