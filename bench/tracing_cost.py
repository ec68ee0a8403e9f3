"""What tracing costs on the hot paths, in process: ``python -m bench.tracing_cost [off|on]``.

Three loops, each timed as the best of 7 rounds in CPU time of this process (``time.process_time``: other
work on the machine barely moves it, and what tracing adds is this process's CPU):

* ``emit``: ``new_event`` + ``to_json`` of a TicketOpened caused by a traced event (what ``ctx.emit``
  does before its INSERT), 20,000 times;
* ``consume``: notify's batch apply of 500 TicketOpened on SQLite (``ConsumerRuntime._apply_batch``), 6
  batches;
* ``relay``: ``OutboxRelay.publish_pending`` of 10,000 committed rows on SQLite, in batches of 500.

``added`` times, with ``timeit``, only what tracing put on those paths while it is off (a loop against the
whole path cannot resolve it on a shared 2-core machine): the ``processing`` context around handlers, the
envelope's two more fields (parsing, building, serialising), the check in ``new_event``, and the hop of a
unit of work to a store thread with the caller's context.

``off`` (the default) is what runs unless ``OTEL_*`` asks for tracing; ``on`` traces every span into an
SDK provider whose exporter drops them (the SDK's own cost, no network). Run it with the code of another
checkout first on ``PYTHONPATH`` (``python bench/tracing_cost.py``) to compare with code before tracing.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # bench.* when run as a file (PYTHONPATH first)

from bench.common import REDIS_URL, drop_keys, new_prefix, temp_dir
from bench.consumer import make_entries, prepare_notify_store
from bench.relay import fill_outbox

ROUNDS = 7


def _best(fn, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
    return min(times)


def emit_loop(n: int = 20_000) -> float:
    """µs per caused event built and serialised."""
    from shared.events.envelope import CloudEvent, new_event
    from shared.events.tickets import TicketOpened

    cause = CloudEvent.model_validate(
        {
            "id": "e1",
            "source": "/linli/volunteers",
            "type": "cn.linli.volunteers.VisitHazardFound.v1",
            "time": "2026-12-02T00:00:00Z",
            "traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01",
        }
    )
    data = TicketOpened(
        ticket_id="T1", category="manhole", community="北翟营", title="井盖松动", reporter="resident:r1"
    )

    def run() -> None:
        for _ in range(n):
            new_event(data, subject="T1", causation=cause).to_json()

    return _best(run) / n * 1e6


def consume_loop(tmp: Path) -> float:
    """µs per event of notify's batch apply (500 a batch, SQLite)."""
    from host.runtime import Runtime
    from services.notify.module import module
    from shared.config import Settings
    from shared.events.registry import parse_event

    prefix = new_prefix("tc")
    settings = Settings(stream_prefix=prefix, var_dir=tmp, consumer_name="p1", log_json=False)
    prepare_notify_store(settings.database_url("notify"))
    runtime = Runtime([module], settings=settings, run_tickers=False)
    runtime.migrate()
    for hook in module.on_start:
        hook(runtime.contexts["notify"])
    consumer = runtime.consumers["notify"]
    batches = []
    for seed in range(ROUNDS * 6 + 1):
        entries, _ = make_entries(500, dup_every=0, seed=seed)
        batches.append(
            [
                (f"{i}-0".encode(), *parse_event(f["cloudevent"].encode(), 256 * 1024), f"{prefix}:tickets")
                for i, f in enumerate(entries)
            ]
        )
    consumer._apply_batch(batches.pop())  # warm up
    rounds = iter([batches[i : i + 6] for i in range(0, ROUNDS * 6, 6)])

    def run() -> None:
        for work in next(rounds):
            consumer._apply_batch(work)

    try:
        return _best(run) / 3000 * 1e6
    finally:
        for ctx in runtime.contexts.values():
            ctx.store.dispose()
        drop_keys(prefix)


def relay_loop(tmp: Path, n: int = 10_000) -> float:
    """µs per row published by the relay (SQLite, batches of 500)."""
    from services.tickets.module import module
    from shared.db.migrations import upgrade
    from shared.db.store import Store
    from shared.messaging.relay import OutboxRelay
    from shared.messaging.streams import StreamNames

    entries, _ = make_entries(n, dup_every=0)
    times = []
    for round_ in range(ROUNDS):
        store = Store("tickets", f"sqlite:///{tmp / f'relay{round_}.db'}", module.metadata)
        upgrade("tickets", module.migrations, store.engine)
        fill_outbox(store.engine, module.outbox, entries)
        prefix = new_prefix("tc")
        relay = OutboxRelay(store.engine, module.outbox, REDIS_URL, StreamNames(prefix), batch=500)
        try:
            started = time.process_time()
            while relay.publish_pending():
                pass
            times.append(time.process_time() - started)
        finally:
            relay.close()
            store.dispose()
            drop_keys(prefix)
    return min(times) / n * 1e6


def added() -> dict[str, float]:
    """Nanoseconds each addition costs while tracing is off (best of 7 ``timeit`` repeats)."""
    import asyncio
    import contextvars
    import functools
    import timeit
    from concurrent.futures import ThreadPoolExecutor

    from pydantic import create_model

    from shared import tracing
    from shared.events.envelope import CloudEvent, new_event
    from shared.events.tickets import TicketOpened

    assert not tracing.ENABLED
    event = new_event(
        TicketOpened(ticket_id="T1", category="manhole", community="北翟营", title="井盖松动", reporter="resident:r1")
    )
    payload = event.to_json().encode()
    fields = {
        name: (info.annotation, info)
        for name, info in CloudEvent.model_fields.items()
        if name not in ("traceparent", "tracestate")
    }
    before = create_model("CloudEventBefore", __config__=CloudEvent.model_config, **fields)  # type: ignore[call-overload]
    kwargs = {k: v for k, v in event.model_dump().items() if k not in ("traceparent", "tracestate")}

    def ns(stmt, number: int = 20000) -> float:  # type: ignore[no-untyped-def]
        """CPU time, best of 15: the wall clock of a shared machine moves more than what is measured."""
        return min(timeit.repeat(stmt, number=number, repeat=15, timer=time.process_time)) / number * 1e9

    def processing() -> None:
        with tracing.processing("notify", "linli:tickets", (event,)):
            pass

    def bare() -> None:
        pass

    def check() -> tuple[str | None, str | None]:
        traceparent = tracestate = None
        if tracing.ENABLED:
            traceparent, tracestate = tracing.context_for(event)
        elif event is not None:
            traceparent, tracestate = event.traceparent, event.tracestate
        return traceparent, tracestate

    pool = ThreadPoolExecutor(1)
    loop = asyncio.new_event_loop()

    def hop(copy: bool) -> float:
        async def many() -> float:
            started = time.process_time()
            for _ in range(2000):
                if copy:
                    context = contextvars.copy_context()
                    await loop.run_in_executor(pool, functools.partial(context.run, bare))
                else:
                    await loop.run_in_executor(pool, functools.partial(bare))
            return (time.process_time() - started) / 2000 * 1e9

        return min(loop.run_until_complete(many()) for _ in range(15))

    now, then = CloudEvent(**kwargs), before(**kwargs)
    found = {
        "processing_context_ns": ns(processing) - ns(bare),
        "new_event_check_ns": ns(check) - ns(bare),
        "parse_ns": ns(lambda: CloudEvent.model_validate_json(payload))
        - ns(lambda: before.model_validate_json(payload)),
        "build_ns": ns(lambda: CloudEvent(**kwargs)) - ns(lambda: before(**kwargs)),
        "serialise_ns": ns(now.to_json) - ns(lambda: then.model_dump_json(exclude_none=True)),
        "thread_hop_ns": hop(False),
        "thread_hop_copy_context_ns": hop(True) - hop(False),
    }
    loop.close()
    pool.shutdown()
    return {k: round(v, 1) for k, v in found.items()}


def main(mode: str = "off") -> dict[str, float | str]:
    if mode == "added":
        found: dict[str, float | str] = {"mode": "added", **added()}
        print(json.dumps(found))
        return found
    try:
        from shared import tracing
    except ImportError:  # code from before tracing
        tracing = None
        mode = "before"
    if mode == "on":
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

        class Drop(SpanExporter):
            def export(self, spans):  # type: ignore[no-untyped-def]
                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(Drop()))
        tracing.enable(provider)
    with temp_dir("tracing-cost") as tmp:
        found = {
            "mode": mode,
            "emit_us": round(emit_loop(), 2),
            "consume_us_per_event": round(consume_loop(tmp), 2),
            "relay_us_per_row": round(relay_loop(tmp), 2),
        }
    print(json.dumps(found))
    return found


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "off")
