"""4) HTTP requests/s: create a ticket and list a resident's tickets, vs a bare FastAPI endpoint.

Both servers are started the same way (uvicorn on loopback, one process, no access log); the load
generator runs in its own process with ``CONCURRENCY`` keep-alive connections sending back to back.
A route and its reference take turns (:func:`paired`), so that both see the same machine.
The resident whose list is read has 20 tickets; the bare list endpoint answers 20 similar objects.

The goals (issue #22: create >= 0.5x, list >= 0.7x) are against the same-work references: the bare app
reading the same resident's tickets with plain sqlite3, and storing a report as the route does (ticket,
history and outbox rows, and the read of similar open reports the answer carries) with plain sqlite3,
both on the event loop with no auth and no ORM. A bare endpoint doing no storage work cannot be matched
by any route that stores something; its rows stay, without a goal, to show what the framework alone costs.
"""

from __future__ import annotations

import json

from bench.common import Figure, log, ratio_goal
from bench.latency import TICKET, create_requests, loadgen, resident_tokens
from bench.loadgen import build

CONCURRENCY = 8
SLICES = 5


def closed(port: int, requests: list[str], seconds: float) -> dict:
    return loadgen(
        {"mode": "closed", "port": port, "requests": requests, "concurrency": CONCURRENCY, "seconds": seconds}
    )


def paired(port: int, served: list[str], bare_port: int, bare_served: list[str], seconds: float) -> tuple[dict, dict]:
    """A route and its reference, each loaded for ``seconds`` in all, in :data:`SLICES` turns taken in
    ABBA order; their sums. Run one after the other, a drift of the machine (a neighbour, the clock) moved
    one side's figure and not the other's, and the ratio of one run to the next by 15 % (docs/benchmarks.md,
    eighteenth session). Each turn goes on where the side's previous turn stopped, so requests meant to be
    sent once (a copy to check out, a sign-in code) are never sent twice."""
    sides = [[port, served, 0, []], [bare_port, bare_served, 0, []]]
    for turn in range(SLICES):
        for side in sides if turn % 2 else sides[::-1]:
            where, reqs, sent, runs = side
            start = sent % len(reqs)
            result = closed(where, reqs[start:] + reqs[:start], seconds / SLICES)
            side[2] = sent + result["requests"]
            runs.append(result)
    return _summed(sides[0][3]), _summed(sides[1][3])


def _summed(runs: list[dict]) -> dict:
    statuses: dict[str, int] = {}
    for run in runs:
        for status, count in run["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    done, seconds = sum(r["requests"] for r in runs), sum(r["seconds"] for r in runs)
    errors = sum(r["errors"] for r in runs)
    return {"requests": done, "errors": errors, "seconds": seconds, "rps": done / seconds, "statuses": statuses}


def rps_figure(section: str, name: str, run: dict, base: dict, base_name: str) -> Figure:
    """Requests/s of a closed-loop ``run`` against the same run's ``base``, with their errors and statuses
    (answers of 400 and above; the report marks a figure whose run or baseline had any)."""
    extra = {"errors": run["errors"], "statuses": run["statuses"], "baseline_errors": base["errors"]}
    return Figure(section, name, run["rps"], "req/s", base["rps"], base_name, extra=extra)


def measure(stack, quick: bool) -> list[Figure]:
    seconds = 3.0 if quick else 10.0
    body = json.dumps(TICKET, ensure_ascii=False).encode()
    bare_post = [build("POST", "/bare", {}, body).decode("latin-1")]
    bare_get = [build("GET", "/bare", {}).decode("latin-1")]
    lister = resident_tokens(1, "list")[0]
    import httpx

    for _ in range(20):  # the listed resident's 20 tickets
        r = httpx.post(
            f"http://127.0.0.1:{stack.tickets.port}/api/tickets/tickets",
            json=TICKET,
            headers={"Authorization": f"Bearer {lister}"},
            timeout=10,
        )
        r.raise_for_status()
    same_rows = httpx.get(
        f"http://127.0.0.1:{stack.bare.port}/bare/db", params={"reporter": "resident:bench-list0"}, timeout=10
    ).json()
    assert len(same_rows) == 20, same_rows  # the reference reads the rows the route lists
    list_req = [build("GET", "/api/tickets/tickets", {"Authorization": f"Bearer {lister}"}).decode("latin-1")]

    log(f"http: bare FastAPI POST/GET, {CONCURRENCY} connections, {seconds:.0f}s each")
    b_post = closed(stack.bare.port, bare_post, seconds)
    b_get = closed(stack.bare.port, bare_get, seconds)
    log(f"http: bare POST {b_post['rps']:.0f}/s GET {b_get['rps']:.0f}/s; create and list, turns with references")
    db_get = [build("GET", "/bare/db?reporter=resident%3Abench-list0", {}).decode("latin-1")]
    db_post = [build("POST", "/bare/db", {}, body).decode("latin-1")]
    create, b_db_post = paired(
        stack.tickets.port, create_requests(resident_tokens(200, "h")), stack.bare.port, db_post, seconds
    )
    listing, b_db = paired(stack.tickets.port, list_req, stack.bare.port, db_get, seconds)
    figures = [
        ratio_goal(
            rps_figure(
                "4 HTTP",
                "POST /api/tickets/tickets (create)",
                create,
                b_db_post,
                "bare FastAPI storing the same rows with sqlite3 on the loop",
            ),
            0.5,
        ),
        ratio_goal(
            rps_figure(
                "4 HTTP",
                "GET /api/tickets/tickets (a resident's 20)",
                listing,
                b_db,
                "bare FastAPI reading the same 20 rows with sqlite3 on the loop",
            ),
            0.7,
        ),
        rps_figure(
            "4 HTTP",
            "reference: bare FastAPI storing a report's rows and reading its similar reports with sqlite3 on the "
            "event loop (no auth, no ORM)",
            b_db_post,
            b_post,
            "bare FastAPI POST, no storage",
        ),
        rps_figure(
            "4 HTTP",
            "reference: bare FastAPI reading the same 20 rows with sqlite3 on the event loop (no auth, no ORM)",
            b_db,
            b_get,
            "bare FastAPI GET, no storage",
        ),
    ]
    for fig in figures[:2]:
        fig.passed = fig.passed and fig.extra["errors"] == 0
    return figures
