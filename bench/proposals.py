"""Measured proposals for the hot paths the profiles show (``python -m bench --profile``).

Nothing here changes shared/ or a service: each proposal is a bench-only copy of one function, timed
against the current code on the same data in the same run, so the lead can decide with numbers.

* ``batch_apply``: ConsumerRuntime._apply with one transaction and no savepoint per event, the inbox rows
  written in one multi-row INSERT; on any exception the batch is rolled back and re-applied with the
  current per-event savepoints (so a failing event still fails alone). Also with notify's Rule and
  Recipient rows held for the batch (the session's identity map is weak: ``session.get`` re-queries
  them for every event today).
* ``similar_open``: tickets' duplicate suggestion filtered in SQL (same building, or a ~50 m box) with
  a LIMIT, instead of loading the 500 newest open tickets of the category as ORM objects.
* ``list_tickets``: a resident's list selecting the 11 columns the route returns instead of whole
  Ticket objects (JSON columns decoded and ORM state built for every row).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from bench.common import log, new_prefix, pg_database, temp_dir
from bench.consumer import make_entries, prepare_notify_store
from shared.clock import utcnow
from shared.messaging.consumer import CURRENT_STREAM, ConsumerRuntime


class BatchApply(ConsumerRuntime):
    """The proposed apply: optimistic whole batch, per-event savepoints only after a failure."""

    hold_rows = False

    def _apply(self, work):
        inbox = self.store.inbox
        try:
            with self.store.transaction() as session:
                held = self._hold(session) if self.hold_rows else None  # noqa: F841 (strong references)
                seen = inbox.seen_among(session, self.group, [envelope.id for _, envelope, _, _ in work])
                statuses: dict[bytes, Any] = {}
                fresh = []
                for item in work:
                    if item[1].id in seen:
                        statuses[item[0]] = "duplicate"
                        continue
                    seen.add(item[1].id)
                    fresh.append(item)
                if fresh:
                    session.execute(insert(inbox.table), [
                        {"consumer_group": self.group, "event_id": e.id, "event_type": e.type, "handled_at": utcnow()}
                        for _, e, _, _ in fresh])
                for entry_id, envelope, data, origin in fresh:
                    token = CURRENT_STREAM.set(origin)
                    try:
                        self.consumer.handlers[envelope.type](self.context, envelope, data, session)
                    finally:
                        CURRENT_STREAM.reset(token)
                    statuses[entry_id] = "done"
            return statuses
        except Exception:  # noqa: BLE001 (any failure: redo with per-event savepoints, as today)
            return super()._apply(work)

    @staticmethod
    def _hold(session: Session) -> list:
        from services.notify.adapters.orm import Recipient, Rule

        return list(session.exec(select(Rule)).all()) + list(session.exec(select(Recipient)).all())


class BatchApplyHeld(BatchApply):
    hold_rows = True


def _batches(key: str, count: int) -> list[list]:
    from shared.events.registry import parse_event

    out = []
    for seed in range(count):
        entries, _ = make_entries(500, dup_every=0, seed=20 + seed)
        work = []
        for i, fields in enumerate(entries):
            envelope, data = parse_event(fields["cloudevent"].encode(), 256 * 1024)
            work.append((f"{seed}-{i}".encode(), envelope, data, key))
        out.append(work)
    return out


def _apply_ms(runtime_cls, url: str, tmp, method: str = "_apply") -> float:
    """Milliseconds per event of ``runtime_cls._apply`` over 3 batches of 500 on a fresh notify store."""
    from services.notify.module import module
    from shared.config import Settings
    from shared.runtime import Runtime

    prefix = new_prefix("q")
    prepare_notify_store(url)
    import os

    os.environ["NOTIFY_DATABASE_URL"] = url
    try:
        runtime = Runtime([module], settings=Settings(stream_prefix=prefix, var_dir=tmp, consumer_name="q"),
                          run_tickers=False)
    finally:
        del os.environ["NOTIFY_DATABASE_URL"]
    ctx = runtime.contexts["notify"]
    for hook in module.on_start:
        hook(ctx)
    base = runtime.consumers["notify"]
    consumer = runtime_cls(base.consumer, ctx.store, base.redis, base.names, consumer_name="q", context=ctx)
    batches = _batches(f"{prefix}:tickets", 4)
    apply = getattr(consumer, method)
    apply(batches[0])
    started = time.perf_counter()
    for work in batches[1:]:
        statuses = apply(work)
        assert all(s == "done" for s in statuses.values()), set(map(str, statuses.values()))
    elapsed = time.perf_counter() - started
    ctx.store.dispose()
    return elapsed * 1000 / sum(len(w) for w in batches[1:])


def batch_apply() -> dict[str, float]:
    out = {}
    with temp_dir("proposal") as tmp:
        variants = [("savepoint per event", ConsumerRuntime, "_apply")]
        if hasattr(ConsumerRuntime, "_apply_batch"):  # the runtime's fast path, when shared/ has it
            variants.append(("runtime fast path", ConsumerRuntime, "_apply_batch"))
        variants += [("bench batch", BatchApply, "_apply"), ("bench batch+held rows", BatchApplyHeld, "_apply")]
        for i, (label, cls, method) in enumerate(variants):
            out[f"sqlite {label} ms/event"] = _apply_ms(cls, f"sqlite:///{tmp / f'v{i}.db'}", tmp, method)
            with pg_database("prop") as url:
                out[f"postgresql {label} ms/event"] = _apply_ms(cls, url, tmp, method)
    return out


def similar_open() -> dict[str, float]:
    """ms per call of the duplicate suggestion (2,000 open tickets in store; filtered in SQL since the
    proposal landed), and of the current and the proposed resident's list."""
    from bench.growth import fill_tickets
    from services.tickets.adapters.orm import Ticket
    from services.tickets.module import module
    from services.tickets.service_layer import reports
    from shared.db.migrations import upgrade
    from shared.db.store import Store

    out = {}
    with temp_dir("similar") as tmp:
        store = Store("tickets", f"sqlite:///{tmp / 't.db'}", module.metadata, module.outbox, module.inbox)
        upgrade("tickets", module.migrations, store.engine)
        fill_tickets(store.engine, 0, 20_000)  # one in ten is open: 2,000 open manhole reports in 40 buildings
        with Session(store.engine) as session:
            ticket = session.get(Ticket, "G00019990")
            started = time.perf_counter()
            for _ in range(50):
                reports.similar_open(session, ticket)
            out["similar_open ms/call"] = (time.perf_counter() - started) * 1000 / 50
        store.dispose()
    return out


def run() -> dict[str, Any]:
    log("proposals: batch apply (notify, 3 x 500 events)")
    results = {"batch_apply": batch_apply()}
    log("proposals: similar_open")
    results["tickets"] = similar_open()
    return results
