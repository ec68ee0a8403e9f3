"""8) read and write routes of library, volunteers, notify, activities and accounts, vs a bare endpoint doing
the same storage work.

``linli run library``, ``linli run volunteers``, ``linli run notify``, ``linli run activities`` and ``linli run
accounts`` run as five processes (each its own SQLite file in a temporary folder, a private stream prefix)
after ``linli demo`` loaded the seed communities there; 20 in-app messages for the demo resident are written
with notify's ORM model, as its consumer writes them; residents imported from a sheet are each sent a sign-in
code by accounts' own use case. The bare app (bench/bare_app.py) serves a twin of each route: plain
``sqlite3`` on the event loop, no auth, no ORM, reading the same rows from the service's file, or reading and
writing the same rows in one transaction on a private copy of its store. Closed loop, ``CONCURRENCY``
connections, each route taking turns with its twin, as figure 4; a write route cycles through bodies that
each change the stored row (a sign-in spends a code: each body is good once). The routes issue #22 names (a
reader's loans and check-out, a volunteer's elders and a visit log, the inbox, a sign-up, the sign-in code
check) have its goal against their twin: a read >= 0.7x, a write >= 0.5x; the others are tracked without one.
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
    ratio_goal,
    temp_dir,
)
from bench.http_api import CONCURRENCY, paired, rps_figure
from bench.loadgen import build

SECTION = "8 routes"
RESIDENT = "resident:zhang-xiaosen"  # a demo resident: a reader card, a notify recipient
NOTES = 20
LOANS = 3  # the demo resident's open loans (seeded)
COPIES = 20_000  # copies seeded for check-out: each request lends another one (route and twin each their own)
HOUSEHOLDS = 20_000  # households signing up a child: each request another, more than the twin answers in a run
CARD = "11010519491231002X"  # 赵晓彤's ID card, her reader card in the demo
DESK = "CN-SJZ-YH-ZHC"  # 智汇城's book house
SIGNERS, SIGNERS_QUICK = 48_000, 8_000  # residents sent a sign-in code: each sign-in (route's or twin's) spends one,
# and neither may run out within its run (a spent code is a cheap 401, which would flatter the twin)


@dataclass(frozen=True)
class Route:
    """A route of a service, the path of its bare twin, who calls it and with what."""

    service: str
    method: str
    path: str
    bare: str
    caller: tuple[str, tuple[str, ...]] | None  # token subject and roles; None: an open route (no token)
    label: str
    bodies: tuple[dict[str, Any], ...] = ()  # cycled through, so that each write changes the row
    rows: int | None = None  # a read: the items both must answer
    items: str = "items"  # where a read's answer holds them
    households: int = 0  # > 0: each request from another household (its own token, ``household`` on the twin)
    goal: float | None = None  # issue #22's least ratio to the twin, for the routes it names
    seeded: str = ""  # bodies made by the seeding (``found[seeded]``), each good for one request


READ, WRITE = 0.7, 0.5


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
        f"/bare/volunteers/elders?community=3502&user={quote('volunteer:wang-guilan')}",
        ("volunteer:wang-guilan", ("volunteer",)),
        "a volunteer's elders: the 2 of 3502 paired with her",
        rows=2,
        goal=READ,
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
        goal=READ,
    ),
    Route(
        "library",
        "GET",
        "/api/library/readers/me",
        f"/bare/library/readers/me?user={quote(RESIDENT)}",
        (RESIDENT, ("resident",)),
        f"a reader's card and {LOANS} loans",
        rows=LOANS,
        items="loans",
        goal=READ,
    ),
    Route(
        "library",
        "POST",
        "/api/library/checkout",
        "/bare/library/checkout?id_hash={card_hash}",
        ("staff:li-yao", ("staff",)),
        "check-out by ID card at the desk, another copy each time",
        bodies=tuple({"card": CARD, "barcode": f"BENCH-{i:06d}", "branch": DESK} for i in range(COPIES)),
        goal=WRITE,
    ),
    Route(
        "volunteers",
        "POST",
        "/api/volunteers/logs",
        f"/bare/volunteers/logs?user={quote('volunteer:wang-guilan')}",
        ("volunteer:wang-guilan", ("volunteer",)),
        "a visit log for a paired elder (closes the open visit, else an ad-hoc one; hours to the time bank)",
        bodies=({"elder_id": "E-3502-sun-dewang", "method": "door", "minutes": 30, "checklist": {"safety_gas": "ok"}},),
        goal=WRITE,
    ),
    Route(
        "activities",
        "POST",
        "/api/activities/activities/{activity}/signups",
        "/bare/activities/{activity}/signups",
        ("resident:bench-h", ("resident",)),
        "a child's sign-up to a 剪纸 workshop, another household each time (waitlisted once full)",
        bodies=({"participant": "小雨", "age": 8, "guardian": True},),
        households=HOUSEHOLDS,
        goal=WRITE,
    ),
    Route(
        "accounts",
        "POST",
        "/api/accounts/auth/token",
        "/bare/accounts/token",
        None,
        "sign-in with the code sent to a phone, another resident each time",
        goal=WRITE,
        seeded="codes",
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


def seed_library(library_db: Path, reader_user: str) -> dict[str, str]:
    """For check-out: :data:`COPIES` copies at the desk and a rule there lending any reader that many; for a
    reader's loans: :data:`LOANS` of them lent to ``reader_user``. Returns the twin's ``card_hash`` (赵晓彤's
    reader row keeps only the keyed hash of her card; the route computes it from the card)."""
    import sqlite3

    from shared.clock import utcnow

    now = utcnow().replace(tzinfo=None)
    stamp, due = now.isoformat(sep=" "), (now + timedelta(days=30)).isoformat(sep=" ")
    conn = sqlite3.connect(library_db)
    try:
        with conn:
            isbn = conn.execute("SELECT isbn FROM copy WHERE barcode = 'ZHC-0002'").fetchone()[0]
            conn.execute(
                "INSERT INTO loan_policy (branch, reader_group, max_loans, loan_days, max_renewals, renewal_days) "
                "VALUES (?, '*', ?, 30, 1, 30)",
                (DESK, COPIES + LOANS + 10),
            )
            conn.executemany(
                "INSERT INTO copy (barcode, isbn, home_branch, location, status, updated_at) "
                "VALUES (?, ?, ?, ?, 'available', ?)",
                [(f"BENCH-{i:06d}", isbn, DESK, DESK, stamp) for i in range(COPIES + LOANS)],
            )
            reader = conn.execute("SELECT id FROM reader WHERE user = ?", (reader_user,)).fetchone()[0]
            for i in range(COPIES, COPIES + LOANS):
                conn.execute("UPDATE copy SET status = 'checked_out' WHERE barcode = ?", (f"BENCH-{i:06d}",))
                conn.execute(
                    "INSERT INTO loan (id, barcode, reader_id, branch, checked_out_at, due_at, renewals, overdue_stage)"
                    " VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
                    (f"LBENCH{i}", f"BENCH-{i:06d}", reader, DESK, stamp, due),
                )
        card_hash = conn.execute("SELECT id_hash FROM reader WHERE user = 'resident:zhao-xiaotong'").fetchone()[0]
    finally:
        conn.close()
    return {"card_hash": card_hash}


def workshop(activities_db: Path) -> dict[str, str]:
    """The first 剪纸 Saturday at 智汇城 (the README's): the sign-up route's activity."""
    import sqlite3

    conn = sqlite3.connect(activities_db)
    try:
        row = conn.execute(
            "SELECT id FROM activity WHERE venue_id = 'ZHC-401' AND status = 'published' ORDER BY starts_at LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    return {"activity": row[0]}


def signin_codes(folder: Path, count: int) -> list[dict[str, str]]:
    """``count`` residents with a phone, imported from a sheet as a community office does, each sent a
    sign-in code by accounts' own use case (in this process, on the service's file; each from another
    client, so that no limit refuses them; a thousand to a transaction, to seed in minutes): the bodies of
    the sign-in route, each good for one sign-in. The import's events are marked sent: a backlog of
    thousands of PersonRegistered for notify to consume would load the machine while the routes are timed."""
    from bench.accounts import _context, _import, make_xlsx
    from services.accounts.service_layer import signin

    ctx = _context(f"sqlite:///{folder / 'accounts.db'}", folder)
    try:
        with ctx.store.transaction() as s:
            before = s.connection().exec_driver_sql("SELECT coalesce(max(id), 0) FROM outbox").scalar()
        _import(ctx, make_xlsx(count))
        bodies = []
        for start in range(0, count, 1000):
            with ctx.store.transaction() as s:
                for i in range(start, min(start + 1000, count)):
                    phone = f"137{i:08d}"  # make_xlsx's numbers
                    issued = signin.request_code(s, phone, f"bench-{i}", ctx.clock.now())
                    assert issued.code is not None, phone  # a registered phone is sent its code
                    bodies.append({"phone": phone, "code": issued.code})
        with ctx.store.transaction() as s:
            s.connection().exec_driver_sql("UPDATE outbox SET sent_at = created_at WHERE id > ?", (before,))
    finally:
        ctx.store.dispose()
    return bodies


def requests(route: Route, path: str, headers: dict[str, str], bodies: list[dict[str, Any]]) -> list[str]:
    """The raw requests the load generator cycles through (one per body; one for a read)."""
    bodies = [json.dumps(b, ensure_ascii=False).encode() for b in bodies] or [b""]
    return [build(route.method, path, headers, body).decode("latin-1") for body in bodies]


def household_requests(route: Route, path: str, bare: str) -> tuple[list[str], list[str]]:
    """For a route called by :attr:`Route.households` households in turn: the route's requests (one token per
    household) and the twin's (the household in its query)."""
    from shared.web.auth import mint_token

    sub, roles = route.caller
    body = json.dumps(route.bodies[0], ensure_ascii=False).encode()
    served, bare_served = [], []
    for i in range(route.households):
        token = mint_token(f"{sub}{i}", list(roles), household=f"H-bench-{i}", community="智汇城")
        served.append(build(route.method, path, {"Authorization": f"Bearer {token}"}, body).decode("latin-1"))
        bare_served.append(build(route.method, f"{bare}?household=H-bench-{i}", {}, body).decode("latin-1"))
    return served, bare_served


def check(
    route: Route, port: int, bare_port: int, served: str, bare: str, headers: dict[str, str], bodies: list[Any]
) -> None:
    """One request to the route and to its twin before timing: both succeed, a read's answers hold the same rows.
    The twin's first write also makes its private copy of the store, outside the timed run. A write uses the
    last body (the twin the one before), which the timed run reaches last."""
    body = bodies[-1] if bodies else None
    twin_body = bodies[-2] if len(bodies) > 1 else body  # the twin's copy may be made after the route's
    answers = []
    for p, path, h, b in ((port, served, headers, body), (bare_port, bare, {}, twin_body)):
        r = httpx.request(route.method, f"http://127.0.0.1:{p}{path}", json=b, headers=h, timeout=10)
        if r.status_code >= 300:
            raise RuntimeError(f"{route.method} {path}: {r.status_code} {r.text[:500]}")
        answers.append(r.json())
    if route.rows is not None:
        counts = [len(a[route.items]) for a in answers]
        if counts != [route.rows, route.rows]:
            raise RuntimeError(f"{route.method} {route.path}: {counts} items (route, twin), expected {route.rows}")


def measure_route(route: Route, port: int, bare_port: int, seconds: float, found: dict[str, Any]) -> Figure:
    from shared.web.auth import mint_token

    path, bare_path = route.path.format(**found), route.bare.format(**found)
    bodies = list(found[route.seeded]) if route.seeded else list(route.bodies)
    if route.households:
        assert route.caller is not None
        sub, roles = route.caller
        served, bare_served = household_requests(route, path, bare_path)
        extra = mint_token(f"{sub}-check", list(roles), household="H-bench-check", community="智汇城")
        headers = {"Authorization": f"Bearer {extra}"}
        check(route, port, bare_port, path, f"{bare_path}?household=H-bench-check-twin", headers, bodies)
    else:
        headers = {}
        if route.caller is not None:
            sub, roles = route.caller
            city_wide = ["*"] if {"staff", "operator"} & set(roles) else None  # staff reach the communities they serve
            headers = {"Authorization": f"Bearer {mint_token(sub, list(roles), communities=city_wide)}"}
        check(route, port, bare_port, path, bare_path, headers, bodies)
        if route.seeded:  # each body is spent once: the check spent the last two (route, twin)
            bodies = bodies[:-2]
        served, bare_served = requests(route, path, headers, bodies), requests(route, bare_path, {}, bodies)
    run, bare = paired(port, served, bare_port, bare_served, seconds)
    log(
        f"routes: {route.method} {route.path} {run['rps']:.0f}/s, bare twin {bare['rps']:.0f}/s, errors {run['errors']}"
    )
    figure = rps_figure(
        SECTION,
        f"{route.method} {route.path} ({route.label})",
        run,
        bare,
        "bare twin: same storage work, sqlite3 on the loop",
    )
    if route.goal is not None:
        ratio_goal(figure, route.goal)
        figure.passed = figure.passed and run["errors"] == 0 and bare["errors"] == 0  # a refusal is cheaper work
    return figure


def measure(quick: bool) -> list[Figure]:
    seconds = 3.0 if quick else 10.0
    with temp_dir("routes") as tmp:
        prefix = new_prefix("r")
        load_demo(prefix, tmp)
        seed_inbox(tmp / "notify.db", RESIDENT, NOTES)
        found: dict[str, Any] = {**seed_library(tmp / "library.db", RESIDENT), **workshop(tmp / "activities.db")}
        found["codes"] = signin_codes(tmp, SIGNERS_QUICK if quick else SIGNERS)
        bare_port = free_port()
        names = ("library", "volunteers", "notify", "activities", "accounts")
        services = {name: linli_server([name], prefix, tmp) for name in names}
        bare = Server([PYTHON, "-m", "bench.bare_app", str(bare_port), str(tmp)], {}, bare_port, tmp / "bare.log")
        servers = [*services.values(), bare]
        try:
            for server in servers:
                server.wait_ready(timeout=240)  # four services starting on a loaded machine
            log(f"routes: {len(ROUTES)} routes and their twins, {CONCURRENCY} connections, {seconds:.0f}s each")
            return [measure_route(r, services[r.service].port, bare_port, seconds, found) for r in ROUTES]
        finally:
            for server in servers:
                server.stop()
            drop_keys(prefix)
