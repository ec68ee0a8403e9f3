"""The HTTP baseline: a bare FastAPI app served exactly like ``linli run`` (uvicorn, loopback, no access
log). ``python -m bench.bare_app PORT [VAR_DIR]``, where ``VAR_DIR`` holds the services' SQLite files
(``tickets.db``, ``library.db``, …). POST /bare validates a body like a ticket report and answers 201;
GET /bare answers a list of 20 small objects like a resident's ticket list.

The ``/bare/…`` routes below those do a route's storage work with plain ``sqlite3`` called on the event
loop (no auth, no ORM, no thread hop): reads on the service's own file (read-only), writes in one
transaction on a private copy of its store (copied on first use, rows and all). GET /bare/db?reporter=...
reads the same columns of a resident's tickets; POST /bare/db stores a report as the tickets service does
(the ticket, its history entry and a TicketOpened outbox row, one commit) and answers it with the open
reports of its category in the same building, which the route's answer also carries (``similar``). The
twins of bench/routes.py (library, volunteers, notify) follow at the end."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

app = FastAPI(title="bench baseline")
ITEMS = [
    {
        "id": f"T{i:05d}",
        "category": "manhole",
        "title": "井盖松动",
        "status": "submitted",
        "community": "北翟营",
        "building": "3",
        "assignee": None,
        "created_at": "2026-11-28T02:00:00Z",
    }
    for i in range(20)
]


class Report(BaseModel):
    category: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=4000)
    community: str | None = None
    building: str | None = None


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/bare", status_code=201)
async def create(body: Report) -> dict[str, Any]:
    return {"id": "T00001", **body.model_dump()}


@app.get("/bare")
async def listing() -> list[dict[str, Any]]:
    return ITEMS


VAR_DIR = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("var")
SUMMARY = (
    "SELECT id, category, title, status, community, building, assignee, created_at, first_response_due, "
    "resolution_due, escalation_level FROM ticket WHERE reporter = ? ORDER BY created_at DESC LIMIT 100"
)
BOOLEANS = {"floating", "lives_alone", "critical", "active", "on_duty"}
JSONS = {"skills", "availability", "channels", "muted"}
_db: dict[str, sqlite3.Connection] = {}


def _reader(service: str) -> sqlite3.Connection:
    """The service's own SQLite file (``VAR_DIR/<service>.db``), read-only."""
    if service not in _db:
        _db[service] = sqlite3.connect(f"file:{VAR_DIR / service}.db?mode=ro", uri=True)
        _db[service].row_factory = sqlite3.Row
    return _db[service]


def _writer(service: str) -> sqlite3.Connection:
    """A private copy of the service's store, rows and all, made on first use (WAL, as the service)."""
    key = f"{service}+copy"
    if key not in _db:
        conn = sqlite3.connect(VAR_DIR / f"{service}.db.bare-copy", isolation_level=None)
        _reader(service).backup(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.row_factory = sqlite3.Row
        _db[key] = conn
    return _db[key]


@contextmanager
def _transaction(service: str) -> Iterator[sqlite3.Connection]:
    """One write transaction on the private copy: ``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on error)."""
    conn = _writer(service)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _value(column: str, value: Any) -> Any:
    if column in BOOLEANS:
        return bool(value)
    return json.loads(value) if column in JSONS and isinstance(value, str) else value


def _view(row: sqlite3.Row | dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    """The answer's columns of a row, booleans and JSON columns decoded as the ORM does."""
    return {c: _value(c, row[c]) for c in columns}


def _page(rows: list[sqlite3.Row], columns: tuple[str, ...], limit: int = 50) -> dict[str, Any]:
    """A first page as the routes answer it (they read ``limit + 1`` rows to know if there is more)."""
    return {"items": [_view(r, columns) for r in rows[:limit]], "next_cursor": "more" if len(rows) > limit else None}


def _change(conn: sqlite3.Connection, table: str, key: str, value: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Read a row by its key and update the given columns, as an ORM unit of work does; 404 if missing."""
    row = conn.execute(f"SELECT * FROM {table} WHERE {key} = ?", (value,)).fetchone()
    if row is None:
        raise HTTPException(404)
    if changes:
        sets = ", ".join(f"{c} = ?" for c in changes)
        conn.execute(f"UPDATE {table} SET {sets} WHERE {key} = ?", (*changes.values(), value))
    return {**dict(row), **changes}


@app.get("/bare/db")
async def listing_from_db(reporter: str) -> list[dict[str, Any]]:
    return [dict(row) for row in _reader("tickets").execute(SUMMARY, (reporter,))]


OPEN = ("submitted", "acknowledged", "assigned", "in_progress", "reopened")  # the tickets' OPEN_STATES
SIMILAR = (
    "SELECT id, title, status, created_at, via, source_hazard_id FROM ticket WHERE category = ? AND id != ? "
    f"AND status IN ({', '.join('?' * len(OPEN))}) AND building = ? AND community = ? "
    "ORDER BY created_at DESC LIMIT 10"
)


@app.post("/bare/db", status_code=201)
async def create_in_db(body: Report) -> dict[str, Any]:
    now = datetime.now(UTC).replace(tzinfo=None)
    ticket_id = f"T{uuid.uuid4().hex[:12].upper()}"
    row = {
        "id": ticket_id,
        **body.model_dump(),
        "status": "submitted",
        "created_at": now,
        "updated_at": now,
        "first_response_due": now + timedelta(hours=4),
        "resolution_due": now + timedelta(hours=24),
    }
    with _transaction("tickets") as conn:
        conn.execute(
            f"INSERT INTO ticket ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            [v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in row.values()],
        )
        conn.execute(
            "INSERT INTO ticket_history (ticket_id, at, actor, action, to_status) VALUES (?, ?, ?, ?, ?)",
            (ticket_id, now.isoformat(sep=" "), "resident:bench", "open", "submitted"),
        )
        event = {
            "id": str(uuid.uuid4()),
            "type": "linli.tickets.TicketOpened.v1",
            "time": now.isoformat() + "Z",
            "data": {**body.model_dump(), "ticket_id": ticket_id},
        }
        conn.execute(
            "INSERT INTO outbox (event_id, stream, event_type, payload, created_at) VALUES (?, ?, ?, ?, ?)",
            (event["id"], "tickets", event["type"], json.dumps(event, ensure_ascii=False), now.isoformat(sep=" ")),
        )
        similar = [
            {"id": r["id"], "title": r["title"], "status": r["status"], "created_at": r["created_at"]}
            for r in conn.execute(SIMILAR, (body.category, ticket_id, *OPEN, body.building, body.community))
            if r["via"] != "volunteers" and r["source_hazard_id"] is None  # as the route: no neighbour's flat
        ]
    return {**row, "created_at": now, "updated_at": now, "similar": similar}


# -- the twins of bench/routes.py: one read and one write route of library, volunteers and notify ----------
BRANCH = ("code", "name", "institution", "floating", "community", "address")
ELDER = ("id", "name", "community", "estate", "building", "unit", "floor", "tier", "lives_alone", "team_id")
NOTE = ("id", "event_type", "subject", "title", "body", "category", "critical", "created_at", "read_at", "archived_at")
VOLUNTEER = ("id", "user_id", "name", "phone", "community", "team_id", "skills", "availability", "weekly_cap", "active")
RECIPIENT = (
    "user_id",
    "display_name",
    "roles",
    "language",
    "timezone",
    "digest_hour",
    "rate_limit",
    "channels",
    "muted",
)


class BranchBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    institution: str = Field(min_length=1, max_length=32)
    floating: bool = False
    community: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=200)


class VolunteerBody(BaseModel):
    weekly_cap: int | None = Field(default=None, ge=1, le=21)
    active: bool | None = None


class PreferencesBody(BaseModel):
    digest_hour: int | None = Field(default=None, ge=0, le=23)
    rate_limit: int | None = Field(default=None, ge=0, le=1000)


@app.get("/bare/library/branches")
async def bare_branches() -> dict[str, Any]:
    """GET /api/library/branches: the first page of branches by code."""
    return _page(_reader("library").execute("SELECT * FROM branch ORDER BY code LIMIT 51").fetchall(), BRANCH)


@app.put("/bare/library/branches/{code}")
async def bare_put_branch(code: str, body: BranchBody) -> dict[str, Any]:
    """PUT /api/library/branches/{code} on a branch that exists: read it by code, update it."""
    with _transaction("library") as conn:
        row = _change(conn, "branch", "code", code, body.model_dump())
    return _view(row, BRANCH)


@app.get("/bare/volunteers/elders")
async def bare_elders(community: str, user: str | None = None) -> dict[str, Any]:
    """GET /api/volunteers/elders?community=: a community's elders by building, unit and id; with ``user`` (a
    volunteer, who reaches the elders paired with her) her volunteer row and pairings are read first."""
    conn = _reader("volunteers")
    if user is None:
        rows = conn.execute(
            "SELECT * FROM elder WHERE community = ? ORDER BY community, building, unit, id LIMIT 51", (community,)
        )
        return _page(rows.fetchall(), ELDER)
    volunteer = conn.execute("SELECT * FROM volunteer WHERE user_id = ?", (user,)).fetchone()
    paired = [
        p[0]
        for p in conn.execute(
            "SELECT elder_id FROM pairing WHERE volunteer_id = ? AND ended_at IS NULL", (volunteer["id"],)
        )
    ]
    rows = conn.execute(
        f"SELECT * FROM elder WHERE community = ? AND id IN ({', '.join('?' * len(paired))}) "
        "ORDER BY community, building, unit, id LIMIT 51",
        (community, *paired),
    )
    return _page(rows.fetchall(), ELDER)


@app.patch("/bare/volunteers/volunteers/{volunteer_id}")
async def bare_patch_volunteer(volunteer_id: str, body: VolunteerBody) -> dict[str, Any]:
    """PATCH /api/volunteers/volunteers/{id}: read and update the volunteer, read the plans of the elders
    paired with them (the route's weekly load; their RRULEs are not expanded here)."""
    with _transaction("volunteers") as conn:
        row = _change(conn, "volunteer", "id", volunteer_id, body.model_dump(exclude_none=True))
        plans = conn.execute(
            "SELECT elder.* FROM elder JOIN pairing ON pairing.elder_id = elder.id "
            "WHERE pairing.volunteer_id = ? AND pairing.ended_at IS NULL",
            (volunteer_id,),
        ).fetchall()
    return {**_view(row, VOLUNTEER), "paired_plans": [p["rrule"] for p in plans]}


@app.get("/bare/notify/inbox")
async def bare_inbox(recipient: str) -> dict[str, Any]:
    """GET /api/notify/inbox: the recipient's messages not archived, newest first."""
    rows = _reader("notify").execute(
        "SELECT * FROM notification WHERE recipient = ? AND archived_at IS NULL "
        "ORDER BY created_at DESC, id DESC LIMIT 51",
        (recipient,),
    )
    return _page(rows.fetchall(), NOTE)


@app.put("/bare/notify/preferences")
async def bare_preferences(user: str, body: PreferencesBody) -> dict[str, Any]:
    """PUT /api/notify/preferences of a registered recipient: read and update the row, bump the
    ``config_version`` counter (notify's mapper events do it for every recipient change)."""
    with _transaction("notify") as conn:
        row = _change(conn, "recipient", "user_id", user, body.model_dump(exclude_unset=True))
        conn.execute("UPDATE config_version SET version = version + 1 WHERE id = 1")
    return _view(row, RECIPIENT)


# -- the twins of the routes issue #22 names: a reader's loans, check-out, a visit log, an activity sign-up ----
LOAN = ("id", "barcode", "due_at", "renewals")


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")


def _outbox(conn: sqlite3.Connection, stream: str, kind: str, data: dict[str, Any]) -> None:
    """One outbox row, an envelope of the size the services write."""
    event = {"id": str(uuid.uuid4()), "type": f"linli.{stream}.{kind}.v1", "time": _now(), "data": data}
    conn.execute(
        "INSERT INTO outbox (event_id, stream, event_type, payload, created_at) VALUES (?, ?, ?, ?, ?)",
        (event["id"], stream, event["type"], json.dumps(event, ensure_ascii=False, default=str), _now()),
    )


@app.get("/bare/library/readers/me")
async def bare_reader_me(user: str) -> dict[str, Any]:
    """GET /api/library/readers/me: the reader by account, open loans by due date, active holds."""
    conn = _reader("library")
    row = conn.execute("SELECT * FROM reader WHERE user = ?", (user,)).fetchone()
    if row is None:
        raise HTTPException(404)
    loans = conn.execute(
        "SELECT * FROM loan WHERE reader_id = ? AND returned_at IS NULL ORDER BY due_at, id", (row["id"],)
    ).fetchall()
    holds = conn.execute(
        "SELECT * FROM hold WHERE reader_id = ? AND status IN ('waiting', 'ready', 'in_transit') "
        "ORDER BY placed_at, id",
        (row["id"],),
    ).fetchall()
    return {
        "id": row["id"],
        "name": row["name"],
        "card": row["id_masked"],
        "loans": [_view(loan, LOAN) for loan in loans],
        "holds": [dict(h) for h in holds],
    }


class CheckoutBody(BaseModel):
    card: str = Field(min_length=15, max_length=18)
    barcode: str = Field(min_length=1, max_length=32)
    branch: str = Field(min_length=1, max_length=32)


@app.post("/bare/library/checkout", status_code=201)
async def bare_checkout(id_hash: str, body: CheckoutBody) -> dict[str, Any]:
    """POST /api/library/checkout: the branch, the reader by card (its keyed hash, computed by the bench), no
    overdue loans, the policy, the open-loan count, the copy and its title; the loan, the copy lent, the
    BookCheckedOut outbox row and the desk's read in the access log, one transaction."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with _transaction("library") as conn:
        branch = conn.execute("SELECT * FROM branch WHERE code = ?", (body.branch,)).fetchone()
        reader = conn.execute("SELECT * FROM reader WHERE id_hash = ?", (id_hash,)).fetchone()
        if branch is None or reader is None:
            raise HTTPException(404)
        overdue = conn.execute(
            "SELECT count(*) FROM loan WHERE reader_id = ? AND returned_at IS NULL AND due_at < ?",
            (reader["id"], now.isoformat(sep=" ")),
        ).fetchone()[0]
        rules = conn.execute(
            "SELECT * FROM loan_policy WHERE branch IN (?, '*') AND reader_group IN (?, '*')",
            (body.branch, reader["group"]),
        ).fetchall()
        open_loans = conn.execute(
            "SELECT count(*) FROM loan WHERE reader_id = ? AND returned_at IS NULL", (reader["id"],)
        ).fetchone()[0]
        copy = conn.execute("SELECT * FROM copy WHERE barcode = ?", (body.barcode,)).fetchone()
        if copy is None or copy["status"] != "available" or overdue:
            raise HTTPException(409)
        max_loans = (
            max(rules, key=lambda r: (r["branch"] != "*", r["reader_group"] != "*"))["max_loans"] if rules else 3
        )
        if open_loans >= max_loans:
            raise HTTPException(409)
        title = conn.execute("SELECT * FROM title WHERE isbn = ?", (copy["isbn"],)).fetchone()
        loan_id = f"L{uuid.uuid4().hex[:12]}"
        due = (now + timedelta(days=30)).isoformat(sep=" ")
        conn.execute(
            "INSERT INTO loan (id, barcode, reader_id, branch, checked_out_at, due_at, renewals, overdue_stage) "
            "VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
            (loan_id, body.barcode, reader["id"], body.branch, now.isoformat(sep=" "), due),
        )
        conn.execute(
            "UPDATE copy SET status = 'checked_out', location = ?, hold_id = NULL, transit_to = NULL, "
            "transit_since = NULL, updated_at = ? WHERE barcode = ?",
            (body.branch, now.isoformat(sep=" "), body.barcode),
        )
        _outbox(
            conn,
            "library",
            "BookCheckedOut",
            {"loan_id": loan_id, "barcode": body.barcode, "isbn": copy["isbn"], "title": title["title"], "due_at": due},
        )
        conn.execute(
            "INSERT INTO access_log (at, actor, roles, subject_kind, subject_id, fields, purpose, community) "
            "VALUES (?, 'staff:bench', 'staff', 'reader', ?, 'reader_identity', 'POST /api/library/checkout', ?)",
            (now.isoformat(sep=" "), reader["id"], branch["community"]),
        )
    return {
        "loan_id": loan_id,
        "barcode": body.barcode,
        "title": title["title"],
        "reader_id": reader["id"],
        "card": reader["id_masked"],
        "branch": body.branch,
        "due_at": due,
    }


class LogBody(BaseModel):
    elder_id: str = Field(min_length=1, max_length=64)
    method: str = Field(min_length=1, max_length=16)
    minutes: int = Field(ge=1, le=600)
    checklist: dict[str, str] = {}
    notes: str = Field(default="", max_length=2000)


@app.post("/bare/volunteers/logs", status_code=201)
async def bare_log_visit(user: str, body: LogBody) -> dict[str, Any]:
    """POST /api/volunteers/logs without a visit id: the elder, the caller's volunteer row, the elder's active
    pairings, the open visit it closes (else a new ad-hoc one); the visit done, its log, the time-bank entry and
    the VisitCompleted outbox row, one transaction; the visit read back for the answer."""
    now = _now()
    with _transaction("volunteers") as conn:
        elder = conn.execute("SELECT * FROM elder WHERE id = ?", (body.elder_id,)).fetchone()
        volunteer = conn.execute("SELECT * FROM volunteer WHERE user_id = ?", (user,)).fetchone()
        if elder is None or volunteer is None:
            raise HTTPException(404)
        paired = conn.execute(
            "SELECT volunteer_id FROM pairing WHERE elder_id = ? AND ended_at IS NULL", (elder["id"],)
        ).fetchall()
        if volunteer["id"] not in {p[0] for p in paired}:
            raise HTTPException(403)
        visit = conn.execute(
            "SELECT * FROM visit WHERE elder_id = ? AND status IN ('scheduled', 'missed') AND due_at <= ? "
            "ORDER BY due_at DESC LIMIT 1",
            (elder["id"], now),
        ).fetchone()
        if visit is None:  # else the next one due within a week
            week = (datetime.now(UTC).replace(tzinfo=None) + timedelta(days=7)).isoformat(sep=" ")
            visit = conn.execute(
                "SELECT * FROM visit WHERE elder_id = ? AND status IN ('scheduled', 'missed') AND due_at <= ? "
                "ORDER BY due_at LIMIT 1",
                (elder["id"], week),
            ).fetchone()
        visit_id = visit["id"] if visit is not None else f"V{uuid.uuid4().hex[:12]}"
        if visit is None:
            conn.execute(
                "INSERT INTO visit (id, elder_id, kind, due_at, status, done_at) VALUES (?, ?, 'adhoc', ?, 'done', ?)",
                (visit_id, elder["id"], now, now),
            )
        else:
            conn.execute("UPDATE visit SET status = 'done', done_at = ? WHERE id = ?", (now, visit_id))
        log_id = f"L{uuid.uuid4().hex[:12]}"
        conn.execute(
            "INSERT INTO visit_log (id, visit_id, elder_id, volunteer_id, author, visited_at, method, minutes, "
            "checklist, services, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?)",
            (
                log_id, visit_id, elder["id"], volunteer["id"], user, now, body.method, body.minutes,
                json.dumps(body.checklist), body.notes, now, now,
            ),
        )  # fmt: skip
        conn.execute(
            "INSERT INTO time_bank_entry (volunteer_id, log_id, hours, kind, at, actor) "
            "VALUES (?, ?, ?, 'visit', ?, ?)",
            (volunteer["id"], log_id, round(body.minutes / 60, 2), now, user),
        )
        _outbox(conn, "volunteers", "VisitCompleted", {"visit_id": visit_id, "elder_id": elder["id"], "at": now})
        done = conn.execute("SELECT * FROM visit WHERE id = ?", (visit_id,)).fetchone()
    return {**dict(done), "log_id": log_id}


class SignupBody(BaseModel):
    participant: str = Field(min_length=1, max_length=32)
    age: int | None = Field(default=None, ge=0, le=120)
    guardian: bool = False


@app.post("/bare/activities/{activity_id}/signups", status_code=201)
async def bare_sign_up(activity_id: str, household: str, body: SignupBody) -> dict[str, Any]:
    """POST /api/activities/activities/{id}/signups: the activity and its venue, the household's active
    sign-ups there, its recent no-shows, the places held and the queue's length (a waitlisted sign-up is
    answered with how many wait before it, as the route's is); the sign-up, the activity's next position and
    the SignupConfirmed (or Waitlisted) outbox row, one transaction."""
    now = _now()
    with _transaction("activities") as conn:
        act = conn.execute("SELECT * FROM activity WHERE id = ?", (activity_id,)).fetchone()
        if act is None:
            raise HTTPException(404)
        conn.execute("SELECT * FROM venue WHERE id = ?", (act["venue_id"],)).fetchone()
        taken = conn.execute(
            "SELECT * FROM signup WHERE activity_id = ? AND household = ? AND status IN ('confirmed', 'offered', "
            "'waitlisted')",
            (activity_id, household),
        ).fetchall()
        if any(t["participant"] == body.participant for t in taken):
            raise HTTPException(409)
        conn.execute(
            "SELECT count(*) FROM signup JOIN activity ON activity.id = signup.activity_id "
            "WHERE signup.household = ? AND signup.attended = 0 AND activity.starts_at >= ?",
            (household, now),
        ).fetchone()
        held = conn.execute(
            "SELECT count(*) FROM signup WHERE activity_id = ? AND status IN ('confirmed', 'offered')", (activity_id,)
        ).fetchone()[0]
        waiting = conn.execute(  # the route answers a waitlisted sign-up with how many wait before it
            "SELECT count(*) FROM signup WHERE activity_id = ? AND status = 'waitlisted'", (activity_id,)
        ).fetchone()[0]
        status = "confirmed" if held < act["capacity"] else "waitlisted"
        ahead = waiting if status == "waitlisted" else None
        signup_id = f"G{uuid.uuid4().hex[:12]}"
        conn.execute(
            "INSERT INTO signup (id, activity_id, user, household, participant, age, guardian, status, position, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                signup_id, activity_id, f"resident:{household}", household, body.participant, body.age,
                body.guardian, status, act["next_position"], now,
            ),
        )  # fmt: skip
        conn.execute("UPDATE activity SET next_position = next_position + 1 WHERE id = ?", (activity_id,))
        kind = "SignupConfirmed" if status == "confirmed" else "SignupWaitlisted"
        data = {"signup_id": signup_id, "activity_id": activity_id, "title": act["title"], "waiting_ahead": ahead}
        _outbox(conn, "activities", kind, data)
    return {**data, "id": signup_id, "status": status}


# -- accounts: sign-in with a code sent to the phone ------------------------------------------------------
PII_KEY = b"linli-dev-pii-key-change-me"  # LINLI_PII_KEY's development default, as the bench's servers run
SIGNING_KEY = Ed25519PrivateKey.generate()  # the route signs with accounts' Ed25519 key (EdDSA), loaded once


class SignInBody(BaseModel):
    phone: str = Field(min_length=7, max_length=20)
    code: str = Field(min_length=6, max_length=6, pattern=r"^\d{6}$")


def _keyed(value: str) -> str:
    """As ``shared.pii.keyed_hash``: HMAC-SHA256 of the upper-cased value (a lookup key)."""
    return hmac.new(PII_KEY, value.strip().upper().encode(), hashlib.sha256).hexdigest()


@app.post("/bare/accounts/token")
async def accounts_token(body: SignInBody) -> dict[str, Any]:
    """The latest unused code of the phone checked and spent, a session and its refresh token stored, the
    person's grants and the signing key read, an access token signed: the route's storage work."""
    digest = _keyed(f"phone:{body.phone}")
    now = datetime.now(UTC)
    stamp = now.replace(tzinfo=None).isoformat(sep=" ")
    with _transaction("accounts") as conn:
        conn.execute("SELECT until FROM phone_lock WHERE phone_hash = ?", (digest,)).fetchone()
        challenge = conn.execute(
            "SELECT id, code_hash, expires_at FROM code_challenge WHERE phone_hash = ? AND used_at IS NULL "
            "ORDER BY created_at DESC, id DESC LIMIT 1",
            (digest,),
        ).fetchone()
        if challenge is None or not hmac.compare_digest(
            challenge["code_hash"], _keyed(f"code:{challenge['id']}:{body.code}")
        ):
            raise HTTPException(401)
        conn.execute("UPDATE code_challenge SET used_at = ? WHERE id = ?", (stamp, challenge["id"]))
        person = conn.execute(
            "SELECT id, sub, name, household_id, community FROM person WHERE phone_hash = ? AND left_at IS NULL",
            (digest,),
        ).fetchone()
        if person is None:
            raise HTTPException(401)
        session_id = f"S{uuid.uuid4().hex[:12]}"
        expires = (now + timedelta(days=30)).replace(tzinfo=None).isoformat(sep=" ")
        conn.execute(
            "INSERT INTO signin_session (id, person_id, client, created_at, last_used_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, person["id"], "bench", stamp, stamp, expires),
        )
        refresh = secrets.token_urlsafe(32)
        conn.execute(
            "INSERT INTO refresh_token (token_hash, session_id, issued_at) VALUES (?, ?, ?)",
            (hashlib.sha256(refresh.encode()).hexdigest(), session_id, stamp),
        )
        grants = conn.execute(
            "SELECT role, community, team, institution FROM role_grant WHERE person_id = ? ORDER BY id", (person["id"],)
        ).fetchall()
        key = conn.execute(
            "SELECT kid FROM signing_key WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1"
        ).fetchone()
    claims = {
        "sub": person["sub"],
        "name": person["name"],
        "household": person["household_id"],
        "roles": ["resident", *(g["role"] for g in grants)],
        "communities": [person["community"]],
        "sid": session_id,
        "iss": "linli-accounts",
        "aud": "linli",
        "iat": now,
        "exp": now + timedelta(minutes=15),
    }
    token = jwt.encode(claims, SIGNING_KEY, algorithm="EdDSA", headers={"kid": key["kid"] if key else "bench"})
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": 900,
        "refresh_token": refresh,
        "session_id": session_id,
    }


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)
