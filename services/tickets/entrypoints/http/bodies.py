"""Bodies that may come as JSON, as a URL-encoded form or as multipart with photos, validated by one model.

The route declares no body parameter (FastAPI would pick one content type); it reads the body here,
validates it with the model, and documents both content types with :func:`body_doc`. A body that
does not fit answers exactly like FastAPI's own validation: ``RequestValidationError``, a 422 problem
with one entry per field. Form text is decoded as UTF-8 (``curl -d description=路灯不亮`` sends raw
UTF-8 bytes, not percent escapes).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from services.tickets.domain.media import MAX_PHOTO_BYTES, MAX_PHOTOS
from shared.errors import Invalid, TooLarge

M = TypeVar("M", bound=BaseModel)
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
MAX_FORM_BYTES = 1024 * 1024
MAX_FIELDS = 200
PHOTO_FIELD = "photo"


def _invalid(kind: str, message: str, loc: tuple[str | int, ...] = ("body",)) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": loc, "msg": message}])


def validated(model: type[M], fields: dict[str, Any]) -> M:
    """``fields`` as ``model``; field errors as FastAPI's 422 (located under ``body``, input not kept)."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        errors = [
            {"type": e["type"], "loc": ("body", *e["loc"]), "msg": e["msg"], "ctx": e.get("ctx", {})}
            for e in exc.errors(include_input=False, include_url=False)
        ]
        raise RequestValidationError(errors) from None


def _form_fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in pairs:
        if key.startswith("attribute[") and key.endswith("]"):
            fields.setdefault("attributes", {})[key[10:-1]] = value
        else:
            fields[key] = value
    return fields


async def urlencoded(request: Request) -> list[tuple[str, str]]:
    """The pairs of a URL-encoded body, decoded as UTF-8."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            raise TooLarge(f"表单超过 {MAX_FORM_BYTES // 1024} KB / form over {MAX_FORM_BYTES // 1024} KB")
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except UnicodeDecodeError:
        raise Invalid("表单不是 UTF-8 编码 / the form is not UTF-8", code="bad_encoding") from None
    except ValueError:
        raise Invalid(f"表单字段超过 {MAX_FIELDS} 个 / more than {MAX_FIELDS} fields", code="too_many_fields") from None


async def read_body(request: Request, model: type[M], *, files: bool = False) -> tuple[M, list[tuple[str, bytes]]]:
    """The body as ``model`` and, for multipart when ``files``, the photos (name, bytes) of field ``photo``."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    photos: list[tuple[str, bytes]] = []
    if ctype == FORM:
        fields = _form_fields(await urlencoded(request))
    elif ctype == MULTIPART:
        form = await request.form(max_files=MAX_PHOTOS + 1, max_fields=MAX_FIELDS)
        pairs: list[tuple[str, str]] = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if not files or key != PHOTO_FIELD:
                    raise _invalid("extra_forbidden", "unexpected file", ("body", key[:64]))
                photos.append((value.filename or key, await value.read(MAX_PHOTO_BYTES + 1)))
            else:
                pairs.append((key, value))
        fields = _form_fields(pairs)
    else:
        raw = await request.body()
        if not raw.strip():
            fields = {}
        else:
            try:
                doc = json.loads(raw)
            except (ValueError, RecursionError):
                raise _invalid("json_invalid", "JSON decode error") from None
            if not isinstance(doc, dict):
                raise _invalid("model_attributes_type", "the body must be a JSON object")
            fields = doc
    return validated(model, fields), photos


def body_doc(model: type[BaseModel], *, files: bool = False, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` documenting a body read by :func:`read_body`: JSON, and multipart (with up to six
    binary ``photo`` files when ``files``) or a URL-encoded form; the model must have no nested models."""
    schema = model.model_json_schema()
    schema.pop("title", None)
    form = {
        "type": "object",
        "properties": {k: v for k, v in schema.get("properties", {}).items() if k != "attributes"},
        "required": [k for k in schema.get("required", []) if k != "attributes"],
    }
    if "attributes" in schema.get("properties", {}):
        form["description"] = "attributes are sent as fields named attribute[code]"
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if files:
        form["properties"][PHOTO_FIELD] = {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "maxItems": MAX_PHOTOS,
        }
        content[MULTIPART] = {"schema": form}
    else:
        content[FORM] = {"schema": form}
    return {"requestBody": {"required": required, "content": content}}
