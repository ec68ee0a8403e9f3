"""Tracing: a resident's report is one OpenTelemetry trace from the HTTP request through the tickets
outbox and stream to notify's consumer; a volunteer's hazard goes on through tickets' consumer and its
next outbox; the context rides in each CloudEvent (``traceparent``); off, nothing is traced."""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aredis
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from ops.flows import trace as trace_flow
from shared import tracing
from shared.events.envelope import CloudEvent, new_event
from shared.events.volunteers import VisitHazardFound
from shared.messaging.streams import StreamNames, encode_entry
from tests.conftest import eventually
from tests.tickets.helpers import MANHOLE, RESIDENT, published


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(provider)
    yield exporter
    tracing.disable()
    provider.shutdown()


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def _named(finished, name: str, kind: SpanKind | None = None):
    return [s for s in finished if s.name == name and (kind is None or s.kind == kind)]


async def test_a_report_is_one_trace_across_tickets_and_notify_and_a_hazard_goes_on_through_the_next_outbox(
    start_runtime, clock, settings, spans
):
    async with start_runtime(["tickets", "notify"], clock=clock) as (runtime, client):
        # 1. a resident reports: HTTP → tickets' outbox → relay → linli:tickets → notify's consumer
        r = await client.post("/api/tickets/tickets?via=app", headers=RESIDENT, data=MANHOLE)
        assert r.status_code == 201, r.text
        ticket_id = r.json()["id"]

        def notify_processed():
            return [s for s in _named(spans.get_finished_spans(), "process TicketOpened", SpanKind.CONSUMER)]

        (consumed,) = await eventually(notify_processed)
        finished = spans.get_finished_spans()
        (server,) = [
            s for s in finished if s.kind == SpanKind.SERVER and s.attributes.get("linli.service") == "tickets"
        ]
        trace_id = server.context.trace_id
        assert server.attributes["http.method"] == "POST" and server.parent is None
        assert "via=app" not in json.dumps(dict(server.attributes), ensure_ascii=False)  # no query strings
        (sent,) = [
            s for s in _named(finished, f"send {settings.stream_prefix}:tickets") if s.context.trace_id == trace_id
        ]
        assert sent.kind == SpanKind.PRODUCER and sent.attributes["linli.service"] == "tickets"
        assert consumed.context.trace_id == trace_id  # one trace across tickets and notify
        assert consumed.attributes["messaging.consumer.group.name"] == "notify"
        assert consumed.parent.span_id == server.context.span_id == sent.parent.span_id

        (opened,) = await published(settings, type_suffix="TicketOpened")
        assert opened["data"]["ticket_id"] == ticket_id
        version, tp_trace, tp_parent, flags = opened["traceparent"].split("-")
        assert (version, tp_trace, tp_parent) == ("00", _hex(trace_id, 32), _hex(server.context.span_id, 16))
        assert int(flags, 16) & 1  # sampled
        assert consumed.attributes["cloudevents.event_id"] == opened["id"]

        # `linli events trace` still follows the flow by its correlation id
        hops = await trace_flow(runtime.redis, runtime.names, opened["correlationid"])
        assert [h.event.short_type for h in hops] == ["TicketOpened"]

        # 2. a volunteer's hazard from a traced process: its consumer span in tickets is the parent of the
        # ticket it opens, whose TicketOpened notify then consumes, all in the volunteers' trace
        root_trace, root_span = 0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7
        hazard = new_event(
            VisitHazardFound(
                elder_id="E-7",
                community="明珠花苑",
                building="4",
                unit="2",
                hazard_id="H-1",
                visit_id="V-9",
                category="gas",
                description="厨房燃气软管老化开裂",
                address="明珠花苑4号楼2单元",
                reported_by="volunteer:zhang-xiuqin",
            ),
            subject="V-9",
        ).model_copy(
            update={"traceparent": f"00-{_hex(root_trace, 32)}-{_hex(root_span, 16)}-01", "tracestate": "linli=v"}
        )
        r2 = aredis.Redis.from_url(settings.redis_url)
        await r2.xadd(
            StreamNames(settings.stream_prefix).events("volunteers"), encode_entry(hazard.to_json(), hazard.type)
        )
        await r2.aclose()

        def chain():
            found = [s for s in spans.get_finished_spans() if s.context.trace_id == root_trace]
            kinds = {(s.name, s.attributes.get("linli.service")) for s in found}
            return found if ("process TicketOpened", "notify") in kinds else None

        found = await eventually(chain)
        by = {(s.name, s.attributes["linli.service"]): s for s in found}
        in_tickets = by["process VisitHazardFound", "tickets"]
        assert in_tickets.parent.span_id == root_span == by["process VisitHazardFound", "notify"].parent.span_id
        in_notify = by["process TicketOpened", "notify"]
        assert in_notify.parent.span_id == in_tickets.context.span_id  # through tickets' next outbox
        assert by[f"send {settings.stream_prefix}:tickets", "tickets"].parent.span_id == in_tickets.context.span_id
        assert str(in_notify.context.trace_state) != "" and in_notify.context.trace_state.get("linli") == "v"
        hazard_ticket = [e for e in await published(settings, type_suffix="TicketOpened") if e["id"] != opened["id"]]
        assert hazard_ticket[0]["traceparent"].split("-")[1:3] == [
            _hex(root_trace, 32),
            _hex(in_tickets.context.span_id, 16),
        ]
        assert hazard_ticket[0]["tracestate"] == "linli=v"


def test_off_by_default_nothing_is_traced_but_a_cause_passes_its_context_on(monkeypatch):
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert tracing._wanted_exporter() is None and not tracing.ENABLED
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert tracing._wanted_exporter() == "otlp"
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing._wanted_exporter() is None
    monkeypatch.delenv("OTEL_SDK_DISABLED")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert tracing._wanted_exporter() is None

    data = VisitHazardFound(
        elder_id="E-7", community="明珠花苑", building="4", unit="2", hazard_id="H-1", visit_id="V-9",
        category="gas", description="-", address="-", reported_by="volunteer:x",
    )  # fmt: skip
    root = new_event(data)
    assert "traceparent" not in json.loads(root.to_json())  # no tracing, no cause: nothing added
    traced = root.model_copy(update={"traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"})
    caused = new_event(data, causation=traced)
    assert caused.traceparent == traced.traceparent  # the trace goes on through an untraced process
    odd = CloudEvent.model_validate_json(root.model_copy(update={"traceparent": "garbage"}).to_json())
    assert odd.traceparent == "garbage"  # a malformed context is no reason to refuse an event


async def test_a_route_on_postgresql_keeps_its_span_on_the_store_threads(postgres_admin_url, spans):
    from opentelemetry import trace
    from sqlalchemy import MetaData

    from shared.db.store import Store

    store = Store("probe", postgres_admin_url, MetaData())  # nothing is queried: the hop to a thread is the point
    try:
        with tracing._tracer.start_as_current_span("route") as span:
            seen = await store.run(trace.get_current_span)  # PostgreSQL work runs on the store's threads
        assert seen is span  # so an event emitted there is a child of the request's span
    finally:
        store.dispose()


def test_otlp_export_is_configured_by_the_standard_variables(tmp_path):
    """A process started with OTEL_EXPORTER_OTLP_ENDPOINT sends its spans as OTLP/HTTP protobuf to that
    address (a receiver on loopback, here), under OTEL_SERVICE_NAME."""
    import os
    import subprocess
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = (
        "from shared import tracing\n"
        "assert tracing.configure_from_env('linli-tickets')\n"
        "with tracing._tracer.start_as_current_span('probe'):\n"
        "    pass\n"
        "tracing.shutdown()\n"
    )
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
        "OTEL_SERVICE_NAME": "linli-yuhua",
    }
    env.pop("OTEL_SDK_DISABLED", None)
    env.pop("OTEL_TRACES_EXPORTER", None)
    try:
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=60)
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    ((path, body),) = received
    assert path == "/v1/traces"
    request = ExportTraceServiceRequest.FromString(body)
    resource = request.resource_spans[0].resource
    names = {a.key: a.value.string_value for a in resource.attributes}
    assert names["service.name"] == "linli-yuhua"
    assert [s.name for s in request.resource_spans[0].scope_spans[0].spans] == ["probe"]
