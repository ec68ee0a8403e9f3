"""Stored photos, addressed by their SHA-256 (EXIF removed)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from services.tickets.entrypoints.http.deps import MediaName
from services.tickets.service_layer.media import stored_file
from shared.service import ServiceContext
from shared.web.auth import public

IMAGE = {"description": "the photo", "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}


def build(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["media"])

    @router.get("/media/{name}", dependencies=[Depends(public())], response_class=FileResponse, responses={200: IMAGE})
    async def media(name: MediaName) -> FileResponse:
        """A stored photo (EXIF removed), addressed by its SHA-256; cached for a year (immutable)."""
        sha256, _, ext = name.partition(".")
        path, media_type = stored_file(ctx, sha256, ext)
        return FileResponse(
            path, media_type=media_type, headers={"Cache-Control": "public, max-age=31536000, immutable"}
        )

    return router
