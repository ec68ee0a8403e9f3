"""8) one read and one write route each of library, volunteers and notify, vs a bare endpoint doing the
same storage work.

``linli run library``, ``linli run volunteers`` and ``linli run notify`` run as three processes (each its
own SQLite file in a temporary folder, a private stream prefix) after ``linli demo`` loaded the seed
communities there; 20 in-app messages for the demo resident are written with notify's ORM model, as its
consumer writes them. The bare app (bench/bare_app.py) serves a twin of each route: plain ``sqlite3`` on
the event loop, no auth, no ORM, reading the same rows from the service's file, or reading and writing the
same rows in one transaction on a private copy of its store. Closed loop, ``CONCURRENCY`` connections, as
figure 4; a write route cycles through bodies that each change the stored row. No goals yet: new figures
to track.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from bench.common import (
    PYTHON,
    Figure,
    Server,
    drop_keys,
    free_port,
    linli_env,
    linli_server,
    log,
    new_prefix,
    temp_dir,
)
from bench.http_api import CONCURRENCY, closed, rps_figure
from bench.loadgen import build

SECTION = "8 routes"
RESIDENT = "resident:zhang-xiaosen"  # a demo resident: a reader card, a notify recipient
NOTES = 20


@dataclass(frozen=True)
class Route:
    """A route of a service, the path of its bare twin, who calls it and with what."""

    service: str
    method: str
    path: str
    bare: str
    caller: tuple[str, tuple[str, ...]]  # token subject and roles
    label: str
    bodies: tuple[dict[str, Any], ...] = ()  # cycled through, so that each write changes the row
    rows: int | None = None  # a read: the items both must answer


ROUTES = (
    Route(
        "library",
        "GET",
        "/api/library/branches",
        "/bare/library/branches",
        (RESIDENT, ("resident",)),
        "the demo's 6 branches",
        rows=6,
    ),
    Route(
        "library",
        "PUT",
        "/api/library/branches/CN-SJZ-YH-ZHC",
        "/bare/library/branches/CN-SJZ-YH-ZHC",
        ("operator:ops", ("operator",)),
        "branch upsert, a new address each time",
        bodies=tuple(
            {
                "name": "智汇城漂流书屋",
                "institution": "LINLI",
                "floating": True,
                "community": "智汇城",
                "address": f"裕华区智汇城{i}号楼",
            }
            for i in range(24)
        ),
    ),
    Route(
        "volunteers",
        "GET",
        "/api/volunteers/elders?community=3502",
        "/bare/volunteers/elders?community=3502",
        ("volunteer:wang-guilan", ("volunteer",)),
        "the 5 elders of 3502",
        rows=5,
    ),
    Route(
        "volunteers",
        "PATCH",
        "/api/volunteers/volunteers/VOL-wang-guilan",
        "/bare/volunteers/volunteers/VOL-wang-guilan",
        ("staff:li-yao", ("staff",)),
        "a volunteer's weekly cap, a new one each time",
        bodies=tuple({"weekly_cap": cap} for cap in range(1, 22)),
    ),
    Route(
        "notify",
        "GET",
        "/api/notify/inbox",
        f"/bare/notify/inbox?recipient={quote(RESIDENT)}",
        (RESIDENT, ("resident",)),
        f"a resident's {NOTES} messages",
        rows=NOTES,
    ),
    Route(
        "notify",
        "PUT",
        "/api/notify/preferences",
        f"/bare/notify/preferences?user={quote(RESIDENT)}",
        (RESIDENT, ("resident",)),
        "own preferences, a new digest hour each time",
        bodies=tuple({"digest_hour": hour} for hour in range(24)),
    ),
)


def load_demo(prefix: str, var_dir: Path) -> None:
    """``linli demo`` with the servers' environment: the seed communities in ``var_dir``'s stores."""
    env = linli_env(prefix, var_dir, free_port())
    linli = str(Path(PYTHON).parent / "linli")
    subprocess.run([linli, "demo"], env={**os.environ, **env}, check=True, capture_output=True)


def seed_inbox(notify_db: Path, user: str, count: int) -> None:
    """``count`` in-app messages for ``user``, one a minute, written with notify's ORM model."""
    from sqlmodel import Session

    from services.notify.adapters.orm import Notification
    from shared.clock import utcnow
    from shared.db.engine import make_engine

    engine = make_engine(f"sqlite:///{notify_db}")
    now = utcnow()
    try:
        with Session(engine) as session:
            for i in range(count):
                session.add(
                    Notification(
                        recipient=user,
                        event_id=f"bench-{i}",
                        event_type="linli.tickets.TicketStatusChanged.v1",
                        subject=f"T{i:05d}",
                        title="报修进展 / repair update",
                        body="您报修的井盖已派单，维修人员今天到场。",
                        category="tickets",
                        created_at=now - timedelta(minutes=i),
                    )
                )
            session.commit()
    finally:
        engine.dispose()


def requests(route: Route, path: str, headers: dict[str, str]) -> list[str]:
    """The raw requests the load generator cycles through (one per body; one for a read)."""
    bodies = [json.dumps(b, ensure_ascii=False).encode() for b in route.bodies] or [b""]
    return [build(route.method, path, headers, body).decode("latin-1") for body in bodies]


def check(route: Route, port: int, bare_port: int, headers: dict[str, str]) -> None:
    """One request to the route and to its twin before timing: both succeed, a read's answers hold the same rows.
    The twin's first write also makes its private copy of the store, outside the timed run."""
    body = route.bodies[0] if route.bodies else None
    answers = []
    for p, path, h in ((port, route.path, headers), (bare_port, route.bare, {})):
        r = httpx.request(route.method, f"http://127.0.0.1:{p}{path}", json=body, headers=h, timeout=10)
        if r.status_code >= 300:
            raise RuntimeError(f"{route.method} {path}: {r.status_code} {r.text[:500]}")
        answers.append(r.json())
    if route.rows is not None:
        counts = [len(a["items"]) for a in answers]
        if counts != [route.rows, route.rows]:
            raise RuntimeError(f"{route.method} {route.path}: {counts} items (route, twin), expected {route.rows}")


def measure_route(route: Route, port: int, bare_port: int, seconds: float) -> Figure:
    from shared.web.auth import mint_token

    sub, roles = route.caller
    city_wide = ["*"] if {"staff", "operator"} & set(roles) else None  # staff reach the communities they serve
    headers = {"Authorization": f"Bearer {mint_token(sub, list(roles), communities=city_wide)}"}
    check(route, port, bare_port, headers)
    bare = closed(bare_port, requests(route, route.bare, {}), seconds)
    run = closed(port, requests(route, route.path, headers), seconds)
    log(
        f"routes: {route.method} {route.path} {run['rps']:.0f}/s, bare twin {bare['rps']:.0f}/s, errors {run['errors']}"
    )
    return rps_figure(
        SECTION,
        f"{route.method} {route.path} ({route.label})",
        run,
        bare,
        "bare twin: same storage work, sqlite3 on the loop",
    )


def measure(quick: bool) -> list[Figure]:
    seconds = 3.0 if quick else 10.0
    with temp_dir("routes") as tmp:
        prefix = new_prefix("r")
        load_demo(prefix, tmp)
        seed_inbox(tmp / "notify.db", RESIDENT, NOTES)
        bare_port = free_port()
        services = {name: linli_server([name], prefix, tmp) for name in ("library", "volunteers", "notify")}
        bare = Server([PYTHON, "-m", "bench.bare_app", str(bare_port), str(tmp)], {}, bare_port, tmp / "bare.log")
        servers = [*services.values(), bare]
        try:
            for server in servers:
                server.wait_ready()
            log(f"routes: {len(ROUTES)} routes and their twins, {CONCURRENCY} connections, {seconds:.0f}s each")
            return [measure_route(r, services[r.service].port, bare_port, seconds) for r in ROUTES]
        finally:
            for server in servers:
                server.stop()
            drop_keys(prefix)
