"""Prometheus metrics and structured JSON logs, one set per process."""

from __future__ import annotations

import json
import logging
import sys
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from faststream.redis.prometheus import RedisPrometheusMiddleware
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from shared.messaging.consumer import BatchOutcome

EVENTS = Counter("linli_events_consumed_total", "Stream entries settled by consumers", ["group", "outcome"])
OUTBOX_PUBLISHED = Counter("linli_outbox_published_total", "Outbox rows published", ["service"])
OUTBOX_BACKLOG = Gauge("linli_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_AGE = Gauge("linli_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["service"])
DEAD_LETTERS = Counter("linli_dead_letters_total", "Entries moved to the dead-letter stream", ["group", "reason"])
HTTP_REQUESTS = Counter("linli_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram("linli_http_request_seconds", "HTTP request latency", ["method", "route"])
SLA_ESCALATIONS = Counter("linli_sla_escalations_total", "Ticket deadline escalations", ["kind", "level"])
NOTIFICATIONS = Counter("linli_notifications_total", "Notification delivery outcomes", ["channel", "outcome"])


class ConsumerMetrics:
    """Counts what each consumed batch came to."""

    def observe_batch(self, group: str, outcome: BatchOutcome) -> None:
        for name, items in (
            ("done", outcome.done),
            ("skipped", outcome.skipped),
            ("duplicate", outcome.duplicates),
            ("failed", outcome.failed),
        ):
            if items:
                EVENTS.labels(group, name).inc(len(items))
        for reason, _ in outcome.dead.values():
            EVENTS.labels(group, "dead").inc()
            DEAD_LETTERS.labels(group, reason).inc()


@lru_cache
def faststream_prometheus_middleware() -> RedisPrometheusMiddleware:
    """FastStream's own Redis metrics (one middleware object per process and registry)."""
    from faststream.redis.prometheus import RedisPrometheusMiddleware

    return RedisPrometheusMiddleware(registry=REGISTRY, app_name="linli")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields (service, event_id, correlation_id...) are kept."""

    _skip = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self._skip and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


def setup_logging(level: str = "INFO", json_logs: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class HttpMetricsMiddleware:
    """Pure ASGI middleware counting requests and timing them per route template.

    (Starlette's ``@app.middleware("http")`` wraps every request in extra tasks and streams;
    this one only watches the ``http.response.start`` message go by.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # each label set's child kept: ``labels()`` looks it up under a lock, 4 µs a request
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._times: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            method = scope["method"]
            count = self._counts.get((method, path, status))
            if count is None:
                count = self._counts[(method, path, status)] = HTTP_REQUESTS.labels(method, path, status)
            timer = self._times.get((method, path))
            if timer is None:
                timer = self._times[(method, path)] = HTTP_LATENCY.labels(method, path)
            count.inc()
            timer.observe(time.perf_counter() - started)
