"""3) end-to-end latency: POST a ticket -> the on-duty staff's in-app notification is stored.

The load generator (its own process) makes POST /api/tickets/tickets due at a fixed rate (open loop)
and records each request's due time (wall clock) and the ticket id. Notify stamps ``created_at`` on the
notification when its handler writes it (same host clock); latency = created_at - due time, so time a
report waits for a busy server counts. The baseline is a bare FastStream publish -> consumer-group
handler round trip at the same rate.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from sqlmodel import Session, select

from bench.common import PYTHON, REDIS_URL, ROOT, Figure, flat_tail, log, percentile

WARM_UP = 20
TICKET = {
    "category": "manhole",
    "title": "井盖松动",
    "description": "亚龙花园3号楼前井盖翘起，老人被绊倒",
    "community": "北翟营",
    "building": "3",
}


def loadgen(spec: dict) -> dict:
    out = subprocess.run(
        [PYTHON, "-m", "bench.loadgen"], input=json.dumps(spec).encode(), cwd=ROOT, capture_output=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed: {out.stderr.decode()[-2000:]}")
    return json.loads(out.stdout)


def create_requests(tokens: list[str]) -> list[str]:
    """Raw POST requests (one per token) filing the thin flow's report."""
    from bench.loadgen import build

    body = json.dumps(TICKET, ensure_ascii=False).encode()
    return [
        build("POST", "/api/tickets/tickets", {"Authorization": f"Bearer {t}"}, body).decode("latin-1") for t in tokens
    ]


def resident_tokens(count: int, label: str = "r") -> list[str]:
    from shared.web.auth import mint_token

    return [mint_token(f"resident:bench-{label}{i}", ["resident"], name="张晓森") for i in range(count)]


def notification_times(notify_db: Path, wanted: set[str], timeout: float = 60.0) -> dict[str, float]:
    """Ticket id -> the epoch time its notification was written; waits until all are there."""
    from services.notify.adapters.orm import Notification
    from shared.clock import as_utc
    from shared.db.engine import make_engine

    engine = make_engine(f"sqlite:///{notify_db}")
    deadline = time.monotonic() + timeout
    found: dict[str, float] = {}
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                rows = session.exec(select(Notification.subject, Notification.created_at)).all()
            found = {s: as_utc(t).timestamp() for s, t in rows if s in wanted}
            if len(found) == len(wanted):
                break
            time.sleep(0.25)
    finally:
        engine.dispose()
    return found


def e2e(port: int, notify_db: Path, rate: float, seconds: float) -> dict:
    """Open-loop reports against the tickets server; latencies to the stored notification."""
    result = loadgen(
        {
            "mode": "open",
            "port": port,
            "requests": create_requests(resident_tokens(50, "e")),
            "rate": rate,
            "seconds": seconds,
        }
    )
    sent = {ident: due for due, status, ident, _ in result["results"] if status == 201}
    answered = [done - due for due, status, _, done in result["results"] if status == 201]
    failed = [r for r in result["results"] if r[1] != 201]
    stored = notification_times(notify_db, set(sent))
    latencies = [stored[i] - sent[i] for i in stored]
    return {
        "latencies": latencies,
        "http": summary(answered),
        "requested": len(result["results"]),
        "created": len(sent),
        "notified": len(stored),
        "http_failures": len(failed),
        "late_starts": result["late_starts"],
        "first_failure": failed[0][2] if failed else None,
    }


def faststream_baseline(prefix: str, rate: float, seconds: float) -> list[float]:
    result = loadgen(
        {"mode": "faststream", "redis_url": REDIS_URL, "key": f"{prefix}:rtt", "rate": rate, "seconds": seconds}
    )
    return result["latencies"]


def summary(latencies: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in latencies]
    return {
        "p50": percentile(ms, 50),
        "p90": percentile(ms, 90),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else float("nan"),
        "n": len(ms),
    }


def measure(stack, quick: bool) -> tuple[list[Figure], dict]:
    """Figures for p50/p99/max at 200/s (ratios to the FastStream round trip), the tails at 200/s (p99
    against p50, of POST→notification and of the create's answer alone), p99 at 20/s on the fresh
    store first, and the percentiles for the chart. :data:`WARM_UP` reports go first, unmeasured: the
    first two after start take 70–100 ms (statements, templates and code paths used for the first time)."""
    rate, seconds, light_rate = 200.0, (5.0 if quick else 30.0), 20.0
    log(f"latency: FastStream round-trip baseline at {rate:.0f}/s")
    base = summary(faststream_baseline(stack.prefix, rate, min(seconds, 10.0)))
    log(f"latency: baseline p50 {base['p50']:.2f} ms p99 {base['p99']:.2f} ms; {WARM_UP} warm-up reports")
    e2e(stack.tickets.port, stack.var_dir / "notify.db", light_rate, WARM_UP / light_rate)
    log(f"latency: e2e {light_rate:.0f}/s, fresh store")
    light = e2e(stack.tickets.port, stack.var_dir / "notify.db", light_rate, 5.0 if quick else 10.0)
    light_sum = summary(light["latencies"])
    log(f"latency: e2e {rate:.0f}/s for {seconds:.0f}s")
    run = e2e(stack.tickets.port, stack.var_dir / "notify.db", rate, seconds)
    got = summary(run["latencies"])
    complete = run["notified"] == run["created"] == run["requested"]
    extra = {k: v for k, v in run.items() if k != "latencies"}
    figures = []
    for key in ("p50", "p99", "max"):
        fig = Figure(
            "3 latency",
            f"POST ticket -> notification stored, 200/s, {key}",
            got[key],
            "ms",
            base[key],
            f"FastStream publish->handler {key}",
            extra=extra if key == "p50" else {},
        )
        if key == "p99":
            fig.goal, fig.passed = "< 25 ms", got["p99"] < 25 and complete
        figures.append(fig)
    figures.append(
        flat_tail(
            "3 latency",
            f"POST ticket -> notification stored, {rate:.0f}/s: the tail",
            got,
            {"complete": complete, "max": got["max"]},
        )
    )
    figures.append(
        flat_tail(
            "3 latency",
            f"POST ticket answered (the create alone, same run), {rate:.0f}/s: the tail",
            run["http"],
            {"max": run["http"]["max"], "n": run["http"]["n"]},
        )
    )
    light_fig = Figure(
        "3 latency",
        f"same at {light_rate:.0f}/s on a fresh store (below create capacity, after warm-up), p99",
        light_sum["p99"],
        "ms",
        base["p99"],
        "FastStream publish->handler p99",
        extra={
            "p50": light_sum["p50"],
            "max": light_sum["max"],
            "notified": light["notified"],
            "created": light["created"],
            "http_answer_ms": light["http"],
        },
    )
    light_fig.goal = "< 25 ms"
    light_fig.passed = light_sum["p99"] < 25 and light["notified"] == light["created"]
    figures.append(light_fig)
    return figures, {"e2e": got, "e2e_20_per_s": light_sum, "faststream": base, **extra}
