"""Reading request bodies that may be JSON, a URL-encoded form or multipart with photos."""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from services.tickets.adapters.photos import CleanPhoto, clean
from services.tickets.domain.media import MAX_PHOTO_BYTES, MAX_PHOTOS, BadPhoto

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


async def read_input(request: Request) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """Fields and uploaded files (name, bytes) of the body; files are read up to 10 MB + 1 byte."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(FORM_TYPES):
        form = await request.form(max_files=MAX_PHOTOS + 4, max_fields=200)
        fields: dict[str, Any] = {}
        files: list[tuple[str, bytes]] = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read(MAX_PHOTO_BYTES + 1)
                files.append((value.filename or key, data))
            elif key.startswith("attribute[") and key.endswith("]"):
                fields.setdefault("attributes", {})[key[10:-1]] = value
            else:
                fields[key] = value
        return fields, files
    raw = await request.body()
    if not raw.strip():
        return {}, []
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise HTTPException(422, "请求体不是有效的 JSON / the body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise HTTPException(422, "请求体应为 JSON 对象 / the body must be a JSON object")
    return doc, []


def parse(model: type[BaseModel], fields: dict[str, Any]) -> Any:
    """Validate fields against ``model``; 422 with the reasons when they do not fit."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise HTTPException(422, f"输入无效 / invalid input: {reasons}") from None


def clean_photos(files: list[tuple[str, bytes]]) -> list[CleanPhoto]:
    """Check and strip every photo before anything is stored (all or nothing)."""
    if len(files) > MAX_PHOTOS:
        raise HTTPException(413, f"最多 {MAX_PHOTOS} 张照片 / at most {MAX_PHOTOS} photos per report")
    try:
        return [clean(name, data) for name, data in files]
    except BadPhoto as exc:
        raise HTTPException(exc.status, str(exc)) from None


async def cleaned_photos(files: list[tuple[str, bytes]]) -> list[CleanPhoto]:
    """:func:`clean_photos` in a worker thread (decoding images is slow); no thread hop without files."""
    return await run_in_threadpool(clean_photos, files) if files else []
