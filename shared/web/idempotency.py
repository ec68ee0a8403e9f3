"""``Idempotency-Key`` on POST: a client that retries gets the first answer again, not a second effect.

A mobile client on a weak network cannot know whether a report it sent was filed; with the same
``Idempotency-Key`` it can send it again safely. Keys are kept per caller (the verified token's subject, or the
client address for public routes) for 24 hours in Redis, not in the services' databases: the record is about
the conversation with a client, not about the service's state, and it expires by itself.

- same key, same request (method, path, query, content type and body) → the stored answer, with
  ``Idempotency-Replayed: true``;
- same key, another request → 422 ``idempotency_key_reused``;
- a duplicate while the first is still being answered waits for that answer (up to ``wait_s``), so concurrent
  duplicates have one effect; past that, 409 ``idempotency_in_progress`` with ``Retry-After``;
- answers of 500 and over, 429 and 503 are not kept: a retry after them runs again;
- a malformed key answers 400 ``idempotency_key_invalid``; with Redis unreachable a keyed request answers 503
  (running it without the guarantee could file a report twice).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.web.problems import problem

if TYPE_CHECKING:
    import redis.asyncio as aredis

    from shared.config import Settings

HEADER = "idempotency-key"
REPLAYED = "Idempotency-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces (UUIDs, ULIDs, random strings)
_NOT_KEPT = {429, 503}
MAX_KEPT_BYTES = 1024 * 1024
log = logging.getLogger("linli.web")


@dataclass
class Idempotency:
    """ASGI middleware replaying answers to POST requests that carry an ``Idempotency-Key``."""

    app: ASGIApp
    redis: aredis.Redis
    prefix: str
    settings: Settings | None = None
    ttl_s: int = 24 * 3600
    pending_ttl_s: int = 60  # a process that dies mid-request frees the key after this
    wait_s: float = 10.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        key = request.headers.get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not _KEY.match(key):
            await problem(
                request, 400, code="idempotency_key_invalid", detail="幂等键格式无效 / malformed Idempotency-Key"
            )(scope, receive, send)
            return
        caller = await self._caller(request)
        if caller is None:  # a token that does not verify: the route answers 401, nothing to remember
            await self.app(scope, receive, send)
            return
        body, replay_receive = await _read_body(receive)
        fingerprint = _fingerprint(request, body)
        record_key = f"{self.prefix}:idempotency:{_digest(caller)}:{_digest(key)}"
        try:
            claimed = await self.redis.set(record_key, json.dumps({"fp": fingerprint}), nx=True, ex=self.pending_ttl_s)
            if not claimed:
                await self._answer_duplicate(request, record_key, fingerprint, scope, send)
                return
        except RedisError:
            await _unavailable(request, scope, send)
            return
        await self._run_and_keep(scope, replay_receive, send, record_key, fingerprint)

    async def _caller(self, request: Request) -> str | None:
        """Whose key this is: the verified subject, or the client address on a call without a token."""
        authorization = request.headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            from shared.web.auth import principal_of

            try:  # a token verified before is a dict lookup: no thread hop (only a JWKS fetch takes one)
                principal = await principal_of(authorization[7:].strip(), self.settings)
            except Exception:
                return None
            return f"sub:{principal.sub}"
        return f"addr:{request.client.host if request.client else '-'}"

    async def _answer_duplicate(
        self, request: Request, record_key: str, fingerprint: str, scope: Scope, send: Send
    ) -> None:
        deadline = time.monotonic() + self.wait_s
        delay = 0.02
        while True:
            raw = await self.redis.get(record_key)
            if raw is None:  # the first try ended without an answer to keep: tell the client to try again
                break
            record = json.loads(raw)
            if record["fp"] != fingerprint:
                await problem(
                    request,
                    422,
                    code="idempotency_key_reused",
                    detail="此幂等键已用于另一请求 / this Idempotency-Key was used for another request",
                )(scope, _no_body, send)
                return
            if "status" in record:
                await _replay(record, send)
                return
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)
        await problem(
            request,
            409,
            code="idempotency_in_progress",
            detail="同一请求正在处理，请稍后重试 / the same request is still being answered, retry shortly",
            headers={"Retry-After": "1"},
        )(scope, _no_body, send)

    async def _run_and_keep(
        self, scope: Scope, receive: Receive, send: Send, record_key: str, fingerprint: str
    ) -> None:
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0

        async def capture(message: Message) -> None:
            nonlocal start, size
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
            await send(message)

        kept = False
        try:
            await self.app(scope, receive, capture)
            status = start["status"] if start is not None else 500
            if start is not None and status < 500 and status not in _NOT_KEPT and size <= MAX_KEPT_BYTES:
                headers = [
                    [base64.b64encode(k).decode(), base64.b64encode(v).decode()]
                    for k, v in start.get("headers", [])
                    if k.lower() not in (b"date", b"server")
                ]
                record = {
                    "fp": fingerprint,
                    "status": start["status"],
                    "headers": headers,
                    "body": base64.b64encode(b"".join(chunks)).decode(),
                }
                await self.redis.set(record_key, json.dumps(record), ex=self.ttl_s)
                kept = True
        finally:
            if not kept:
                try:
                    await self.redis.delete(record_key)
                except RedisError:
                    log.warning("could not release an idempotency key; it expires in %s s", self.pending_ttl_s)


async def _replay(record: dict[str, Any], send: Send) -> None:
    headers = [(base64.b64decode(k), base64.b64decode(v)) for k, v in record["headers"]]
    headers.append((REPLAYED.lower().encode(), b"true"))
    await send({"type": "http.response.start", "status": record["status"], "headers": headers})
    await send({"type": "http.response.body", "body": base64.b64decode(record["body"])})


async def _unavailable(request: Request, scope: Scope, send: Send) -> None:
    await problem(
        request,
        503,
        code="unavailable",
        detail="暂时无法保证不重复处理，请稍后重试 / cannot guarantee a single effect now, retry later",
        headers={"Retry-After": "5"},
    )(scope, _no_body, send)


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body (already bounded by BodyLimits around this), and a receive that replays it."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(parts)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _fingerprint(request: Request, body: bytes) -> str:
    """What makes two requests the same one. A multipart boundary is left out: a client that builds its
    retry again draws a new one for the same fields and files."""
    ctype = request.headers.get("content-type", "")
    found = re.search(r"boundary=\"?([^\";]+)", ctype)
    if ctype.lower().startswith("multipart/") and found:
        boundary = found.group(1)
        ctype = ctype.replace(boundary, "")
        body = body.replace(boundary.encode("latin-1"), b"")
    h = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query, ctype):
        h.update(part.encode())
        h.update(b"\0")
    h.update(body)
    return h.hexdigest()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]
