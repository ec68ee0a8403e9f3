"""4) HTTP requests/s: create a ticket and list a resident's tickets, vs a bare FastAPI endpoint.

Both servers are started the same way (uvicorn on loopback, one process, no access log); the load
generator runs in its own process with ``CONCURRENCY`` keep-alive connections sending back to back.
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


def closed(port: int, requests: list[str], seconds: float) -> dict:
    return loadgen(
        {"mode": "closed", "port": port, "requests": requests, "concurrency": CONCURRENCY, "seconds": seconds}
    )


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
    b_db = closed(
        stack.bare.port, [build("GET", "/bare/db?reporter=resident%3Abench-list0", {}).decode("latin-1")], seconds
    )
    b_db_post = closed(stack.bare.port, [build("POST", "/bare/db", {}, body).decode("latin-1")], seconds)
    log(f"http: bare POST {b_post['rps']:.0f}/s GET {b_get['rps']:.0f}/s; tickets create and list")
    create = closed(stack.tickets.port, create_requests(resident_tokens(200, "h")), seconds)
    listing = closed(stack.tickets.port, list_req, seconds)
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
