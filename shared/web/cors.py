"""CORS for browser clients on other origins (a community's web app, a mini-program's web view).

Only the origins in ``LINLI_CORS_ORIGINS`` (comma-separated, exact ``scheme://host[:port]``) are allowed; with
none configured no CORS header is sent and browsers keep their same-origin rule. Tokens travel in the
``Authorization`` header, never in cookies, so credentials are not allowed: a page on an allowed origin reads
answers only with a token it holds. A refused preflight answers problem+json like every other error.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp

from shared.web.problems import problem

ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ALLOWED_HEADERS = (
    "Accept",
    "Accept-Language",
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "If-None-Match",
    "Last-Event-ID",
    "X-Request-ID",
)
EXPOSED_HEADERS = ("ETag", "Location", "Retry-After", "Idempotency-Replayed", "X-Request-ID")
PREFLIGHT_MAX_AGE_S = 600


class Cors(CORSMiddleware):
    """Starlette's CORS middleware with Linli's allow-list, whose refusals are problem+json."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        super().__init__(
            app,
            allow_origins=list(origins),
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            allow_credentials=False,
            max_age=PREFLIGHT_MAX_AGE_S,
        )

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        return problem(
            None,
            403,
            code="cors_refused",
            detail="此来源、方法或请求头不在允许范围内 / origin, method or header not allowed",
            headers={"Vary": "Origin"},
        )
