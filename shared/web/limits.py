"""Limits on request bodies, decided once for every route: size (413) and JSON nesting (400).

The size is checked against ``Content-Length`` before anything is read, and again while a body
streams in (a chunked upload may lie or say nothing). A JSON body is read whole (it is small by
then) and its nesting measured before any parser recurses into it: Python's ``json`` module raises
``RecursionError`` on deep documents, and models never need more than a few levels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import TooLarge
from shared.web.problems import problem

MAX_JSON_BYTES = 1024 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024  # six 10 MB photos and their form fields
MAX_JSON_DEPTH = 32
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth(raw: bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """The deepest nesting of arrays and objects in ``raw``, counting no further than ``limit + 1``."""
    depth = deepest = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


@dataclass
class BodyLimits:
    """ASGI middleware enforcing :data:`MAX_BODY_BYTES`, :data:`MAX_JSON_BYTES` and :data:`MAX_JSON_DEPTH`."""

    app: ASGIApp
    max_body: int = MAX_BODY_BYTES
    max_json: int = MAX_JSON_BYTES
    max_depth: int = MAX_JSON_DEPTH

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        is_json = ctype == "application/json" or ctype.endswith("+json")
        limit = self.max_json if is_json else self.max_body
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(request, scope, receive, send, limit)
            return
        if is_json:
            body = await _read_all(receive, limit)
            if body is None:
                await self._refuse(request, scope, receive, send, limit)
                return
            brackets = body.count(b"{") + body.count(b"[")  # no deeper than it has brackets: most bodies
            if brackets > self.max_depth and json_depth(body, self.max_depth) > self.max_depth:
                detail = f"JSON 嵌套超过 {self.max_depth} 层 / JSON nested deeper than {self.max_depth} levels"
                await problem(request, 400, code="too_deep", detail=detail)(scope, receive, send)
                return
            await self.app(scope, _replay(body, receive), send)
            return
        await self.app(scope, _counting(receive, limit), send)

    async def _refuse(self, request: Request, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        detail = f"请求体超过 {limit // 1024} KB / body over {limit // 1024} KB"
        await problem(request, 413, code="too_large", detail=detail)(scope, receive, send)


class BodyTooLarge(TooLarge):
    """A streamed body passed its limit after the route began reading it (answered as 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"请求体超过 {limit // 1024} KB / body over {limit // 1024} KB")


async def _read_all(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read ahead, then the client's own messages (its disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _counting(receive: Receive, limit: int) -> Receive:
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge(limit)
        return message

    return counted
