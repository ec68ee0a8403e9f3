"""Profiles of the hot paths with pyinstrument: ``python -m bench --profile``.

* ``consumer``: notify's batch apply (``ConsumerRuntime._apply_batch``, else ``_apply``) of 500 TicketOpened on SQLite;
* ``create``: the unit of work of POST /api/tickets/tickets (after 600 reports in one building);
* ``list``: the unit of work of GET /api/tickets/tickets (a resident with 20+ reports);
* ``relay``: OutboxRelay.publish_pending over 10,000 committed rows (SQLite).

Each writes ``bench/results/profile-<name>.txt`` (call tree, where the time goes).
"""

from __future__ import annotations

from pyinstrument import Profiler

from bench.common import REDIS_URL, RESULTS, drop_keys, log, new_prefix, temp_dir
from bench.consumer import make_entries, prepare_notify_store


def _settings(prefix: str, var_dir):
    from shared.config import Settings

    return Settings(stream_prefix=prefix, var_dir=var_dir, consumer_name="p1", log_json=False)


def profile_consumer(tmp) -> str:
    from host.runtime import Runtime
    from services.notify.module import module
    from shared.events.registry import parse_event

    prefix = new_prefix("p")
    settings = _settings(prefix, tmp)
    prepare_notify_store(settings.database_url("notify"))
    runtime = Runtime([module], settings=settings, run_tickers=False)
    runtime.migrate()
    for hook in module.on_start:
        hook(runtime.contexts["notify"])
    consumer = runtime.consumers["notify"]
    key = f"{prefix}:tickets"
    batches = []
    for seed in range(4):
        entries, _ = make_entries(500, dup_every=0, seed=seed)
        work = []
        for i, fields in enumerate(entries):
            envelope, data = parse_event(fields["cloudevent"].encode(), 256 * 1024)
            work.append((f"{i}-0".encode(), envelope, data, key))
        batches.append(work)
    apply = getattr(consumer, "_apply_batch", consumer._apply)  # what the runtime calls
    apply(batches[0])  # warm up
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for work in batches[1:]:
        apply(work)
    profiler.stop()
    for ctx in runtime.contexts.values():
        ctx.store.dispose()
    drop_keys(prefix)
    return profiler.output_text(unicode=True, color=False, show_all=False)


def _profile_tickets(tmp) -> dict[str, str]:
    """The create and list routes' units of work, called as the routes call them (in one thread,
    so the profile sees them: the routes run them in a worker thread)."""
    from bench.latency import TICKET
    from host.runtime import Runtime
    from services.tickets.entrypoints.http.schemas import TicketIn
    from services.tickets.module import module
    from services.tickets.service_layer import reports, views

    prefix = new_prefix("p")
    runtime = Runtime([module], settings=_settings(prefix, tmp), run_tickers=False)
    runtime.migrate()
    ctx = runtime.contexts["tickets"]
    body = TicketIn(**TICKET)

    def create(reporter: str) -> object:
        with ctx.store.transaction() as session:  # as http.create_ticket's work()
            opened = reports.open_report(ctx, session, reporter=reporter, photos=[], **body.model_dump())
            return views.opened_view(session, opened.ticket, opened.category, opened.history, opened.photos)

    def listing(reporter: str) -> object:
        with ctx.store.reading() as connection:  # as http.list_tickets's work()
            return views.list_tickets(connection, reporter=reporter)

    out = {}
    for i in range(600):
        create(f"resident:p{i % 30}")
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for i in range(100):
        create(f"resident:p{i % 30}")
    profiler.stop()
    out["create"] = profiler.output_text(unicode=True, color=False)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(200):
        listing("resident:p0")
    profiler.stop()
    out["list"] = profiler.output_text(unicode=True, color=False)
    ctx.store.dispose()
    drop_keys(prefix)
    return out


def profile_relay(tmp) -> str:
    from bench.relay import fill_outbox
    from services.tickets.module import module
    from shared.db.engine import make_engine
    from shared.db.migrations import upgrade
    from shared.messaging.relay import OutboxRelay
    from shared.messaging.streams import StreamNames

    tmp.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{tmp / 'relay.db'}")
    upgrade("tickets", module.migrations, engine)
    fill_outbox(engine, module.outbox, make_entries(10_000, dup_every=0)[0])
    prefix = new_prefix("p")
    relay = OutboxRelay(engine, module.outbox, REDIS_URL, StreamNames(prefix), batch=500)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    while relay.publish_pending():
        pass
    profiler.stop()
    relay.close()
    engine.dispose()
    drop_keys(prefix)
    return profiler.output_text(unicode=True, color=False)


def run() -> list[str]:
    """Write the profiles; returns the files written."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    written = []
    with temp_dir("profile") as tmp:
        log("profile: notify batch apply")
        texts = {"consumer": profile_consumer(tmp / "c")}
        log("profile: tickets create and list")
        texts.update(_profile_tickets(tmp / "h"))
        log("profile: outbox relay")
        texts["relay"] = profile_relay(tmp / "r")
    for name, text in texts.items():
        path = RESULTS / f"profile-{name}.txt"
        path.write_text(text, encoding="utf-8")
        written.append(str(path))
    return written
