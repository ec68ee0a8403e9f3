"""Every error the edge answers, as RFC 9457 ``application/problem+json``.

One place maps what can go wrong to a response: a refused use case (:class:`DomainError`), an HTTP
error (401, 404, 405 …), invalid input (422, one entry per field), a body over its limit (413), a
unique key taken by a concurrent write (409), an unreachable store (503: an outage, not the client's
fault) and anything unexpected (500, no detail). A problem
carries a stable ``code`` for clients to branch on; the title and field messages are written for
people, in zh-CN unless ``Accept-Language`` prefers English. Input is never echoed: a hostile
value could carry personal data into a log, or fail to encode (``1e400`` is infinity).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException

from shared.errors import DomainError
from shared.web.messages import field_message, prefers_english

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("linli.web")

TITLES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "请求无效", "Bad request"),
    401: ("unauthorized", "需要登录", "Authentication required"),
    403: ("forbidden", "无权操作", "Forbidden"),
    404: ("not_found", "未找到", "Not found"),
    405: ("method_not_allowed", "不支持该方法", "Method not allowed"),
    406: ("not_acceptable", "无法提供该格式", "Not acceptable"),
    409: ("conflict", "与当前状态冲突", "Conflict"),
    412: ("precondition_failed", "资源已变更", "Precondition failed"),
    413: ("too_large", "内容过大", "Content too large"),
    415: ("unsupported_media_type", "不支持的内容类型", "Unsupported media type"),
    422: ("invalid", "输入无效", "Invalid input"),
    429: ("too_many_requests", "请求过于频繁", "Too many requests"),
    500: ("internal", "服务器内部错误", "Internal server error"),
    503: ("unavailable", "服务暂不可用", "Service unavailable"),
}


class FieldProblem(BaseModel):
    """One invalid field: where it is (``body.rating``), a stable code, a message for people."""

    field: str = Field(examples=["body.rating"])
    code: str = Field(examples=["less_than_equal"])
    message: str = Field(examples=["应小于或等于 5"])


class Problem(BaseModel):
    """RFC 9457 problem details, with Linli's stable ``code`` and per-field ``errors``."""

    type: str = Field(examples=["urn:linli:problem:not_found"])
    title: str
    status: int
    code: str = Field(examples=["not_found"])
    detail: str | None = None
    errors: list[FieldProblem] | None = None


def problem(
    request: Request | None,
    status: int,
    *,
    code: str | None = None,
    detail: str | None = None,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response. ``detail`` is the service's own message, Chinese then English
    (``"工单不存在 / no ticket"``); the title and field messages follow ``Accept-Language``."""
    english = prefers_english(request)
    default_code, zh, en = TITLES.get(status, (f"http_{status}", "请求失败", "Request failed"))
    code = code or default_code
    body = Problem(
        type=f"urn:linli:problem:{code}",
        title=en if english else zh,
        status=status,
        code=code,
        detail=detail,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def validation_errors(request: Request | None, errors: list[dict[str, Any]]) -> list[FieldProblem]:
    """Pydantic's errors as field problems, without the ``input`` pydantic keeps."""
    english = prefers_english(request)
    out = []
    for error in errors[:50]:
        loc = _field_path(error)
        out.append(
            FieldProblem(
                field=loc[:200] or "body", code=str(error.get("type", "invalid")), message=field_message(error, english)
            )
        )
    return out


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-\[\],. ]{0,80}")


def _field_path(error: dict[str, Any]) -> str:
    """Where the error is, without the client's own words: an unknown key, or a key of a free-form
    map, is the client's text, so it shows as ``*``; declared names and list indexes stay."""
    parts = list(error.get("loc", ()))
    if error.get("type") == "extra_forbidden" and parts:
        parts[-1] = "*"
    shown = [str(p) if isinstance(p, int) or (isinstance(p, str) and _NAME.fullmatch(p)) else "*" for p in parts]
    return ".".join(shown)


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as problem+json (call once, when the app is built)."""

    @app.exception_handler(DomainError)
    async def refused(request: Request, exc: DomainError) -> JSONResponse:
        return problem(request, exc.status, code=exc.code, detail=exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(request, 422, code="invalid", errors=validation_errors(request, list(exc.errors())))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        detail: str | None = exc.detail if isinstance(exc.detail, str) else None
        if detail in ("Not Found", "Method Not Allowed", "There was an error parsing the body"):
            detail = None  # Starlette's English defaults say no more than the title
        code = "bad_body" if exc.status_code == 400 and exc.detail == "There was an error parsing the body" else None
        return problem(request, exc.status_code, code=code, detail=detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(IntegrityError)
    async def taken(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error answered as 409: %s", exc.orig.__class__.__name__)
        return problem(request, 409, code="conflict", detail="与已有数据冲突 / conflicts with existing data")

    @app.exception_handler(OperationalError)
    async def store_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("store unreachable on %s %s: %s", request.method, request.url.path, exc.orig.__class__.__name__)
        detail = "数据库暂不可用，请稍后重试 / the store is unavailable, try again shortly"
        return problem(request, 503, code="unavailable", detail=detail, headers={"Retry-After": "5"})

    @app.exception_handler(ResponseValidationError)
    async def bad_response(request: Request, exc: ResponseValidationError) -> JSONResponse:
        log.error("response did not match its model: %s", [e.get("loc") for e in exc.errors()][:5])
        return problem(request, 500)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(request, 500)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": TITLES[status][2]}
    for status in (400, 401, 403, 404, 409, 413, 422)
}
"""``responses=`` for routers: documents the problem+json answers every operation may give."""
