"""Real receivers for notify's channels: an aiosmtpd SMTP server and an HTTP webhook receiver on loopback,
and helpers to publish producer events onto Redis and to run the dispatcher.

The channel target policy refuses loopback by default; a test using a local receiver allows its host
explicitly, as a site's operator would: ``NOTIFY_ALLOWED_WEBHOOK_HOSTS=127.0.0.1`` (see ``allow_local``)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis.asyncio as aredis
from aiosmtpd.controller import Controller

from services.notify import jobs
from shared.events.envelope import CloudEvent, EventData, new_event
from shared.messaging.streams import encode_entry
from tests.support.redis_server import free_port


class Mailbox:
    """A real SMTP server; ``messages`` are the parsed emails it accepted."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(msg)
        return "250 OK"

    def url(self, to: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=notify@linli.test&to={to}&mode=insecure"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    @staticmethod
    def text(msg) -> str:
        part = msg.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else msg.get_content()


class Receiver:
    """A real HTTP server taking webhook POSTs; answers ``status`` (set 500 to make it fail)."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.status < 300:
                    receiver.posts.append({"path": self.path, **json.loads(body)})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.server.server_port}{path}"


LOCAL = "127.0.0.1"
"""Where the local receivers listen."""


def allow_local(monkeypatch) -> None:
    """Allow the local receivers' host through the setting (read when the runtime starts)."""
    monkeypatch.setenv("NOTIFY_ALLOWED_WEBHOOK_HOSTS", LOCAL)


@pytest.fixture
def mailbox(monkeypatch):
    allow_local(monkeypatch)
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


@pytest.fixture
def receiver(monkeypatch):
    allow_local(monkeypatch)
    rec = Receiver()
    rec.thread.start()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


async def publish(
    runtime, data: EventData, *, subject: str | None = None, event: CloudEvent | None = None
) -> CloudEvent:
    """Put a producer's event on its stream in real Redis (``event``: publish that same event again)."""
    event = event or new_event(data, subject=subject, time=runtime.clock.now())
    stream = runtime.names.events(data.source.rsplit("/", 1)[-1])
    client = aredis.Redis.from_url(runtime.settings.redis_url)
    try:
        await client.xadd(stream, encode_entry(event.to_json(), event.type))
    finally:
        await client.aclose()
    return event


async def tick(runtime) -> int:
    """Run notify's dispatcher once at the runtime clock's time (off the event loop: it does network I/O)."""
    ctx = runtime.contexts["notify"]
    return await asyncio.to_thread(jobs.tick, ctx, ctx.clock.now())


async def handled(runtime, count: int) -> None:
    """Wait until notify's consumer has applied ``count`` events in total."""
    from tests.conftest import eventually

    await eventually(lambda: runtime.consumers["notify"].handled >= count)
