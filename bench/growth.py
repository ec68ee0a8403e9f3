"""7) growth: consumer throughput and ticket-list latency with 1k, 100k (and 1M) stored tickets.

One tickets store and one notify store (SQLite, the default deployment) are filled step by step with
``n`` tickets (a resident has about 50), and notify with ``n`` notifications and inbox rows. At each
size: the median and p99 of a resident's ticket list (the unit of work of GET /api/tickets/tickets,
in this process), and the events/s of a notify process consuming TicketOpened. The cost per operation
must not grow faster than log(n): the figure compares the largest size with 1k against log(n)/log(1k).

A list takes ~0.2 ms, and its p50 at 1k was 0.21 ms in one run and 0.40 ms in the next (2026-12-07): a drift of
the machine larger than log n allows. So a copy of the store at 1k is kept and, at each larger size, the two stores'
lists take turns (``SLICES`` slices, A B B A ...); the figure divides the large store's p50 by the copy's.
"""

from __future__ import annotations

import math
import sqlite3
import time
from datetime import timedelta

from sqlalchemy import insert

from bench.common import Figure, log, percentile, temp_dir
from bench.consumer import make_entries, notify_counts, prepare_notify_store, timed_run

PER_RESIDENT = 50
CHUNK = 20_000
SLICES = 5  # turns of the 1k copy and the larger store (ABBA), a fifth of the calls each


def fill_tickets(engine, start: int, stop: int) -> None:
    from services.tickets.adapters.orm import Ticket
    from shared.clock import utcnow

    base = utcnow() - timedelta(days=365)
    with engine.begin() as conn:
        for lo in range(start, stop, CHUNK):
            rows = [
                {
                    "id": f"G{i:08d}",
                    "category": "manhole",
                    "title": "井盖松动",
                    "description": "井盖翘起",
                    "community": "北翟营",
                    "building": str(i % 40),
                    "reporter": f"resident:g{i // PER_RESIDENT}",
                    "contact": {},
                    "attributes": {},
                    "status": "resolved" if i % 10 else "submitted",
                    "created_at": base + timedelta(seconds=i),
                    "updated_at": base + timedelta(seconds=i),
                    "escalation_level": 0,
                    "via": "app",
                }
                for i in range(lo, min(stop, lo + CHUNK))
            ]
            conn.execute(insert(Ticket.__table__), rows)


def fill_notify(engine, start: int, stop: int) -> None:
    from services.notify.adapters.orm import Notification, inbox
    from shared.clock import utcnow

    now = utcnow()
    with engine.begin() as conn:
        for lo in range(start, stop, CHUNK):
            ids = range(lo, min(stop, lo + CHUNK))
            conn.execute(
                insert(Notification.__table__),
                [
                    {
                        "recipient": f"staff:g{i % 20}",
                        "event_id": f"g-{i}",
                        "event_type": "cn.linli.tickets.TicketOpened.v1",
                        "subject": f"G{i:08d}",
                        "title": "新工单",
                        "body": "井盖松动",
                        "created_at": now,
                        "category": "tickets",
                        "critical": False,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(inbox.table),
                [
                    {
                        "consumer_group": "notify",
                        "event_id": f"g-{i}",
                        "event_type": "cn.linli.tickets.TicketOpened.v1",
                        "handled_at": now,
                    }
                    for i in ids
                ],
            )


def list_times(store, reporter: str, calls: int, warm: int = 20) -> list[float]:
    """Milliseconds of ``calls`` lists of one resident's reports, after ``warm`` uncounted ones."""
    from services.tickets.service_layer import views

    times = []
    for i in range(calls + warm):
        started = time.perf_counter()
        with store.reading() as connection:  # as http.list_tickets's unit of work
            found = views.list_tickets(connection, reporter=reporter).items  # one page (50, as many as a resident has)
        if i >= warm:
            times.append((time.perf_counter() - started) * 1000)
    assert len(found) == PER_RESIDENT, len(found)
    return times


def list_by_turns(store, reporter: str, base, base_reporter: str, calls: int = 200) -> tuple[list[float], list[float]]:
    """The lists of ``store`` and of the 1k copy ``base``, taking turns (A B B A ...) in ``SLICES`` slices."""
    mine: list[float] = []
    theirs: list[float] = []
    share = calls // SLICES
    for turn in range(SLICES):
        order = ((store, reporter, mine), (base, base_reporter, theirs))
        for target, who, into in order if turn % 2 == 0 else reversed(order):
            into.extend(list_times(target, who, share, warm=20 if turn < 2 else 0))
    return mine, theirs


def copy_store(source: str, target: str) -> None:
    """A consistent copy of a SQLite store (its WAL included), by SQLite's online backup."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def measure(quick: bool) -> tuple[list[Figure], dict]:
    from services.tickets.module import module as tickets
    from shared.db.store import Store

    sizes = [1_000, 100_000] if quick else [1_000, 100_000, 1_000_000]
    events = 1500 if quick else 3000
    points = []
    with temp_dir("growth") as tmp:
        t_url, n_url = f"sqlite:///{tmp / 'tickets.db'}", f"sqlite:///{tmp / 'notify.db'}"
        store = Store("tickets", t_url, tickets.metadata)
        from shared.db.migrations import upgrade

        upgrade("tickets", tickets.migrations, store.engine)
        prepare_notify_store(n_url)
        from shared.db.engine import make_engine

        n_engine = make_engine(n_url)
        have, base, base_reporter = 0, None, ""
        for seed, n in enumerate(sizes):
            log(f"growth: filling to {n:,} tickets and notifications")
            fill_tickets(store.engine, have, n)
            fill_notify(n_engine, have, n)
            have, reporter = n, f"resident:g{(n - 1) // PER_RESIDENT}"
            if base is None:  # the first size: kept as the copy every larger size is timed against
                times = list_times(store, reporter, 200)
                copy_store(str(tmp / "tickets.db"), str(tmp / "tickets-base.db"))
                base = Store("tickets", f"sqlite:///{tmp / 'tickets-base.db'}", tickets.metadata)
                base_times, base_reporter = times, reporter
            else:
                times, base_times = list_by_turns(store, reporter, base, base_reporter)
            lat = {"p50": percentile(times, 50), "p99": percentile(times, 99), "base_p50": percentile(base_times, 50)}
            entries, distinct = make_entries(events, seed=10 + seed)
            before = notify_counts(n_url)
            rate = len(entries) / timed_run("notify", 1, entries, {"NOTIFY_DATABASE_URL": n_url}, tmp)[0]
            after = notify_counts(n_url)
            points.append(
                {
                    "tickets": n,
                    "list_p50_ms": lat["p50"],
                    "list_p99_ms": lat["p99"],
                    "list_p50_ms_at_first_size_same_turns": lat["base_p50"],
                    "consumer_eps": rate,
                    "exactly_once": (after[0] - before[0], after[1] - before[1]) == (distinct, distinct),
                }
            )
            log(f"growth: {n:,}: list p50 {lat['p50']:.2f} ms ({lat['base_p50']:.2f} at 1,000), consumer {rate:.0f}/s")
        store.dispose()
        if base is not None:
            base.dispose()
        n_engine.dispose()
    first, last = points[0], points[-1]
    allowed = math.log(last["tickets"]) / math.log(first["tickets"])
    list_base = last["list_p50_ms_at_first_size_same_turns"]  # the 1k copy, timed in turns with the largest
    list_growth = last["list_p50_ms"] / list_base
    cost_growth = first["consumer_eps"] / last["consumer_eps"]  # time per event
    size = f"{last['tickets']:,}"
    figures = [
        Figure(
            "7 growth",
            f"list p50 at {size} tickets",
            last["list_p50_ms"],
            "ms",
            list_base,
            "list p50 at 1,000, a copy timed in turns with it",
            goal=f"ratio ≤ log n ratio {allowed:.2f}",
            passed=list_growth <= allowed,
        ),
        Figure(
            "7 growth",
            f"time per consumed event at {size} tickets",
            1000 / last["consumer_eps"],
            "ms",
            1000 / first["consumer_eps"],
            "at 1,000",
            goal=f"ratio ≤ log n ratio {allowed:.2f}",
            passed=cost_growth <= allowed and all(p["exactly_once"] for p in points),
        ),
    ]
    return figures, {"points": points}
