"""OpenTelemetry tracing of a flow: HTTP request → outbox → stream → consumer → next outbox, as one trace.

The trace context travels inside each CloudEvent as the CloudEvents distributed-tracing extension
(``traceparent``/``tracestate``, W3C Trace Context), so it survives the outbox table, the relay and
Redis without any header of its own, and a consumer continues the producer's trace.

Off by default, and then nothing here runs but a check of :data:`ENABLED` (the SDK, the exporter and
the FastAPI instrumentation are not even imported); an event caused by a traced one still carries its
cause's context, so a trace goes on through a process that does not trace. On when the standard
variables ask for it (read once per process by :func:`configure_from_env`):

* ``OTEL_SDK_DISABLED=true`` keeps it off whatever else is set;
* ``OTEL_TRACES_EXPORTER``: ``otlp`` (OTLP over HTTP/protobuf), ``console``, or ``none``;
* without it, ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` turns OTLP on;
* the SDK itself reads the rest: ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``
  (``…_ARG``), ``OTEL_BSP_*``, ``OTEL_EXPORTER_OTLP_HEADERS``, ``…_TIMEOUT``, ``…_CERTIFICATE`` …
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from shared.events.envelope import CloudEvent

log = logging.getLogger("linli.tracing")

ENABLED = False
"""Whether this process traces; the hot paths test it before doing anything else."""

_tracer: Tracer = trace.NoOpTracer()
_provider: TracerProvider | None = None
_configured = False
_W3C = TraceContextTextMapPropagator()  # the extension is W3C Trace Context, whatever OTEL_PROPAGATORS says
_NULL = contextlib.nullcontext()

_PROCESSING: ContextVar[dict[str, Span] | None] = ContextVar("linli_processing_spans", default=None)
"""While handlers run: the consumer span of each event they handle (by event id), the parent of what they emit."""

_TRACEPARENT = re.compile(rb'"traceparent":"([^"\\]{1,128})"')
_TRACESTATE = re.compile(rb'"tracestate":"([^"\\]{1,512})"')
_EVENT_ID = re.compile(rb'"id":"([^"\\]{1,128})"')


# -- setting up -----------------------------------------------------------------------------------
def _wanted_exporter() -> str | None:
    """The exporter the ``OTEL_*`` variables ask for, or None for no tracing."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return None if exporter == "none" else exporter.split(",")[0].strip()
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return "otlp"
    return None


def configure_from_env(service_name: str = "linli") -> bool:
    """Turn tracing on if the ``OTEL_*`` variables ask for it (once per process); return whether it is on.

    ``service_name`` is used when ``OTEL_SERVICE_NAME`` is not set (``linli-tickets``, or ``linli`` for
    every service in one process); each span also names its service in ``linli.service``.
    """
    global _configured  # noqa: PLW0603 - once per process
    if _configured:
        return ENABLED
    _configured = True
    kind = _wanted_exporter()
    if kind is None:
        return False
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    exporter: SpanExporter
    if kind == "console":
        exporter = ConsoleSpanExporter()
    else:
        if kind != "otlp":
            log.warning("OTEL_TRACES_EXPORTER=%s is not shipped; exporting OTLP over HTTP instead", kind)
        protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        if protocol and protocol != "http/protobuf":
            log.warning("OTLP protocol %s is not shipped; using http/protobuf (port 4318)", protocol)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # endpoint, headers, timeout, compression from OTEL_EXPORTER_OTLP_*
    provider = _new_provider(service_name)
    provider.add_span_processor(BatchSpanProcessor(exporter))  # OTEL_BSP_* apply
    trace.set_tracer_provider(provider)  # so libraries that trace on their own join the same traces
    enable(provider)
    return True


def _new_provider(service_name: str) -> TracerProvider:
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create({} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name})
    return TracerProvider(resource=resource)  # the sampler comes from OTEL_TRACES_SAMPLER


def enable(provider: TracerProvider) -> None:
    """Trace with ``provider`` from now on (tests pass one with an in-memory exporter)."""
    global ENABLED, _tracer, _provider  # noqa: PLW0603 - a module flag is the cheapest test on the hot paths
    _provider = provider
    _tracer = provider.get_tracer("linli")
    ENABLED = True


def disable() -> None:
    """Stop tracing (spans already started still end)."""
    global ENABLED, _tracer, _provider  # noqa: PLW0603 - a module flag is the cheapest test on the hot paths
    ENABLED = False
    _tracer = trace.NoOpTracer()
    _provider = None


def shutdown() -> None:
    """Flush and close the exporter of a provider set up from the environment (at process exit)."""
    if _provider is not None and _configured:
        _provider.shutdown()


def instrument_app(app: FastAPI) -> None:
    """Give every HTTP request its server span (FastAPI/ASGI instrumentation), if tracing is on.

    Health, readiness and metrics probes are left out; query strings are not recorded (tokens and
    signed links travel there).
    """
    if not ENABLED:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        excluded_urls="/healthz,/readyz,/metrics",
        server_request_hook=_server_request_hook,
        exclude_spans=["receive", "send"],
    )


def _server_request_hook(span: Span, scope: dict[str, Any]) -> None:
    """Name the service a request is for, and drop the query string from what the span records."""
    path = scope.get("path", "")
    if path.startswith("/api/"):
        span.set_attribute("linli.service", path.split("/", 3)[2])
    if scope.get("query_string"):
        span.set_attribute("http.target", path)
        span.set_attribute("url.query", "")
        span.set_attribute("http.url", f"{scope.get('scheme', 'http')}://{_host(scope)}{path}")


def _host(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return str(value.decode("latin-1"))
    server = scope.get("server") or ("", None)
    return f"{server[0]}:{server[1]}" if server[1] else str(server[0])


# -- the context in an event ----------------------------------------------------------------------
def context_for(causation: CloudEvent | None) -> tuple[str | None, str | None]:
    """``(traceparent, tracestate)`` for an event being created now (only called while tracing is on).

    Its parent is the consumer span of the event that caused it, else the current span (an HTTP
    request, a job), else the cause's own context carried on unchanged.
    """
    span: Span | None = None
    if causation is not None:
        spans = _PROCESSING.get()
        if spans is not None:
            span = spans.get(causation.id)
    if span is None:
        span = trace.get_current_span()
    if span.get_span_context().is_valid:
        carrier: dict[str, str] = {}
        _W3C.inject(carrier, context=trace.set_span_in_context(span))
        return carrier.get("traceparent"), carrier.get("tracestate")
    if causation is not None:
        return causation.traceparent, causation.tracestate
    return None, None


def _parent(traceparent: str | None, tracestate: str | None) -> Context | None:
    if not traceparent:
        return None
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    return _W3C.extract(carrier)  # an invalid traceparent gives an empty context: a new trace


# -- spans of the relay and the consumer ------------------------------------------------------------
def publishing(service: str, rows: Sequence[Sequence[Any]], keys: dict[str, str]) -> list[Span]:
    """Start a PRODUCER span per outbox row ``(id, stream, event_type, payload bytes)`` being XADDed,
    each a child of its event's context (read from the payload without parsing the JSON)."""
    spans = []
    for _id, stream, event_type, payload in rows:
        raw = bytes(payload)
        parent = _match(_TRACEPARENT, raw)
        event_id = _match(_EVENT_ID, raw)
        key = keys.get(stream, stream)
        span = _tracer.start_span(
            f"send {key}",
            context=_parent(parent, _match(_TRACESTATE, raw)),
            kind=SpanKind.PRODUCER,
            attributes={
                "linli.service": service,
                "messaging.system": "redis",
                "messaging.operation.type": "send",
                "messaging.operation.name": "xadd",
                "messaging.destination.name": key,
                "messaging.message.id": event_id or "",
                "cloudevents.event_id": event_id or "",
                "cloudevents.event_type": event_type,
            },
        )
        spans.append(span)
    return spans


def end(spans: Iterable[Span], error: BaseException | None = None) -> None:
    """End spans started by :func:`publishing`, marked failed with ``error`` if given."""
    for span in spans:
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error.__class__.__name__))
        span.end()


def _match(pattern: re.Pattern[bytes], raw: bytes) -> str | None:
    found = pattern.search(raw)
    return found.group(1).decode() if found else None


def processing(group: str, stream: str, events: Iterable[CloudEvent]) -> contextlib.AbstractContextManager[Any]:
    """Around handlers applying ``events``: a CONSUMER span per event, child of the event's own context.

    Events the handlers emit take the span of their cause as parent (see :func:`context_for`); one
    event's span is also made current. When tracing is off this is a shared no-op.
    """
    if not ENABLED:
        return _NULL
    return _processing(group, stream, list(events))


@contextlib.contextmanager
def _processing(group: str, stream: str, events: list[CloudEvent]) -> Iterator[None]:
    spans = {
        event.id: _tracer.start_span(
            f"process {event.type.rsplit('.', 2)[-2]}",
            context=_parent(event.traceparent, event.tracestate),
            kind=SpanKind.CONSUMER,
            attributes={
                "linli.service": group,
                "messaging.system": "redis",
                "messaging.operation.type": "process",
                "messaging.destination.name": stream,
                "messaging.consumer.group.name": group,
                "messaging.message.id": event.id,
                "cloudevents.event_id": event.id,
                "cloudevents.event_source": event.source,
                "cloudevents.event_type": event.type,
                "linli.correlation_id": event.correlationid or "",
            },
        )
        for event in events
    }
    outer = _PROCESSING.get()
    token = _PROCESSING.set(spans if outer is None else {**outer, **spans})
    current = (
        trace.use_span(next(iter(spans.values())), record_exception=False, set_status_on_exception=False)
        if len(spans) == 1
        else _NULL
    )  # an exception's text may hold what a handler read: only its class is recorded, below
    try:
        with current:
            yield
    except BaseException as exc:
        for span in spans.values():
            span.set_status(Status(StatusCode.ERROR, exc.__class__.__name__))
        raise
    finally:
        _PROCESSING.reset(token)
        for span in spans.values():
            span.end()
