"""Check-out, check-in with routing slip, arrival scans and renewals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session

from services.library.adapters.orm import Branch, Copy, Hold, Loan, Reader, Title
from services.library.config import library_settings
from services.library.domain.routing import Slip, route
from services.library.domain.status import CopyStatus, check_transition
from services.library.service_layer import common, policy, scope
from services.library.service_layer.readers import by_user, overdue_count
from shared.clock import as_utc
from shared.db.driver import fetch, insert_row, write
from shared.errors import Conflict, NotFound
from shared.events.envelope import CloudEvent
from shared.events.library import BookArrived, BookCheckedOut, BookInTransit, BookRenewed, BookReturned, HoldReady
from shared.identity import Principal
from shared.ids import new_id

ACTIVE_HOLD = ("waiting", "in_transit", "ready")


@dataclass(frozen=True)
class Routed:
    """A copy scanned at a branch (check-in or arrival): where it is, its routing slip, the loan it closed."""

    copy: Copy
    here: Branch
    slip: Slip
    loan: Loan | None = None


@dataclass(frozen=True)
class Lent:
    """A check-out done: the loan as stored and what the desk's answer shows (rows read for the check-out)."""

    id: str
    barcode: str
    reader_id: str
    branch: str
    checked_out_at: datetime
    due_at: datetime
    reader: Any  # the reader's row (_READER's columns)
    here: Any  # the branch's row (_BRANCH's columns)
    title: Any  # the title's row (_TITLE's columns)


def checkout(
    ctx, session: Session, reader_id: str, barcode: str, branch_code: str, who: Principal | None = None
) -> Lent:
    """Lend a copy at any branch: blocked readers, the loan limit and copy status are checked under lock.

    ``who`` (staff at the desk) must serve the branch's community (:mod:`.scope`).

    Every read is a statement built once, through the driver on SQLite (:mod:`shared.db.driver`; on
    PostgreSQL through SQLAlchemy, ``FOR UPDATE`` included); the loan is inserted and the copy (and a
    fulfilled hold) updated with Core statements instead of ORM objects and a flush: the same rows.
    """
    now = ctx.clock.now()
    conn = common.connection(session)  # pending ORM changes first, as a session.execute would
    found = fetch(conn, _BRANCH, {"code": branch_code})
    if not found:
        raise NotFound(f"没有这个分馆 / no branch {branch_code}")
    here = found[0]
    scope.require_branch(session, who, here.code)
    found = fetch(conn, _READER, {"reader_id": reader_id})
    if not found:
        raise NotFound(f"没有这位读者 / no reader {reader_id}")
    reader = found[0]
    if reader.blocked_reason:
        raise Conflict(
            f"读者已被停借（{reader.blocked_reason}），可以还书但不能借书 / "
            f"the reader is blocked ({reader.blocked_reason}): returns only",
            code="reader_blocked",
        )
    if overdue_count(session, reader.id, now):
        raise Conflict(
            "读者有逾期图书，请先归还 / the reader has overdue books: return them first", code="overdue_loans"
        )
    rule = policy.resolve(session, here.code, reader.group)
    open_loans = fetch(conn, _OPEN_LOANS, {"reader_id": reader.id})[0].n
    if open_loans >= rule.max_loans:
        raise Conflict(
            f"每位读者最多同时借{rule.max_loans}本 / at most {rule.max_loans} books at a time", code="loan_limit"
        )
    found = fetch(conn, _COPY, {"barcode": barcode})
    if not found:
        raise NotFound(f"没有这个条码 / no copy with barcode {barcode}")
    copy = found[0]
    held = None
    if copy.status == CopyStatus.AWAITING_PICKUP:
        holds = fetch(conn, _HOLD, {"hold_id": copy.hold_id}) if copy.hold_id else []
        held = holds[0] if holds else None
        if held is None or held.reader_id != reader.id:
            raise Conflict(
                "此书已被他人预约，待其取书 / this copy is on the hold shelf for another reader", code="held_for_other"
            )
    elif copy.status != CopyStatus.AVAILABLE:
        check_transition(copy.status, CopyStatus.CHECKED_OUT)
    found = fetch(conn, _TITLE, {"isbn": copy.isbn})
    if not found:
        raise NotFound(f"没有这个书目 / no title with ISBN {copy.isbn}")
    title = found[0]
    loan = Lent(
        new_id("L"), copy.barcode, reader.id, here.code, now, now + timedelta(days=rule.loan_days), reader, here, title
    )
    row = {
        "id": loan.id,
        "barcode": loan.barcode,
        "reader_id": loan.reader_id,
        "branch": loan.branch,
        "checked_out_at": loan.checked_out_at,
        "due_at": loan.due_at,
        "renewals": 0,
        "returned_at": None,
        "returned_branch": None,
        "due_soon_for": None,
        "overdue_stage": 0,
    }
    if insert_row(conn, _LOANS, row) is None:  # not SQLite: through SQLAlchemy
        conn.execute(_INSERT_LOAN, row)
    if held is not None:
        write(conn, _FULFIL_HOLD, {"hold_id": held.id, "now": now})
        _expire(session, Hold, held.id)
    write(conn, _LEND_COPY, {"copy_barcode": copy.barcode, "here": here.code, "now": now})
    _expire(session, Copy, copy.barcode)
    ctx.emit(
        session,
        BookCheckedOut(**common.loan_facts(loan, copy, title, reader), branch=here.code),  # type: ignore[arg-type]
        subject=loan.id,
    )
    return loan


def _expire(session: Session, model: type[Any], key: str) -> None:
    """Forget ``model``'s row ``key`` if the session holds it: a Core UPDATE changed it under the ORM."""
    held = session.identity_map.get(identity_key(model, key))
    if held is not None:
        session.expire(held)


_LOANS = Loan.__table__  # type: ignore[attr-defined]
_L, _C, _H = _LOANS.c, Copy.__table__.c, Hold.__table__.c  # type: ignore[attr-defined]
_BRANCH = select(Branch.__table__.c.code, Branch.__table__.c.community).where(  # type: ignore[attr-defined]
    Branch.__table__.c.code == bindparam("code")  # type: ignore[attr-defined]
)
_READER = (
    select(*(Reader.__table__.c[n] for n in ("id", "name", "id_masked", "group", "user", "blocked_reason")))  # type: ignore[attr-defined]
    .where(Reader.__table__.c.id == bindparam("reader_id"))  # type: ignore[attr-defined]
    .with_for_update()  # PostgreSQL: serialises check-outs of one reader so the loan limit cannot race
)
_OPEN_LOANS = select(func.count().label("n")).where(_L.reader_id == bindparam("reader_id"), _L.returned_at.is_(None))
_COPY = select(_C.barcode, _C.isbn, _C.status, _C.hold_id).where(_C.barcode == bindparam("barcode")).with_for_update()
_HOLD = select(_H.id, _H.reader_id).where(_H.id == bindparam("hold_id"))
_TITLE = select(Title.__table__.c.isbn, Title.__table__.c.title).where(  # type: ignore[attr-defined]
    Title.__table__.c.isbn == bindparam("isbn")  # type: ignore[attr-defined]
)
_INSERT_LOAN = insert(_LOANS)
_FULFIL_HOLD = (
    update(Hold.__table__)  # type: ignore[attr-defined]
    .where(_H.id == bindparam("hold_id"))
    .values(status="fulfilled", closed_at=bindparam("now"))
)
_LEND_COPY = (
    update(Copy.__table__)  # type: ignore[attr-defined]
    .where(_C.barcode == bindparam("copy_barcode"))
    .values(
        status=CopyStatus.CHECKED_OUT.value,
        location=bindparam("here"),
        hold_id=None,
        transit_to=None,
        transit_since=None,
        updated_at=bindparam("now"),
    )
)
"""A check-out's statements, built once: the branch, the reader and the copy (locked), the reader's open
loans counted, a hold's reader, the title; the loan's INSERT and the copy's (and a fulfilled hold's) UPDATE."""


def next_hold(session: Session, isbn: str) -> Hold | None:
    """The first waiting hold on a title (fair queue: placed first, served first)."""
    return session.execute(
        select(Hold)
        .where(Hold.isbn == isbn, Hold.status == "waiting")
        .order_by(Hold.placed_at, Hold.id)
        .limit(1)
        .with_for_update(skip_locked=True)  # two copies checked in at once serve two different holds
    ).scalar_one_or_none()


def hold_ready(
    ctx, session: Session, hold: Hold, copy: Copy, now: datetime, causation: CloudEvent | None = None
) -> None:
    """Put ``hold`` on the shelf with ``copy`` and tell the reader (HoldReady with the pickup deadline)."""
    facts = common.hold_facts(session, hold)
    hold.status, hold.barcode, hold.ready_at = "ready", copy.barcode, now
    hold.expires_at = now + timedelta(days=library_settings().hold_pickup_days)
    session.add(hold)
    ctx.emit(
        session,
        HoldReady(
            **facts,
            pickup_branch=hold.pickup_branch,
            expires_at=hold.expires_at,
            pickup_branch_name=common.branch(session, hold.pickup_branch).name,
        ),
        subject=hold.id,
        causation=causation,
    )


def route_copy(
    ctx, session: Session, copy: Copy, here: Branch, now: datetime, causation: CloudEvent | None = None
) -> Slip:
    """Send a copy that is now at ``here`` where it belongs: a hold's pickup shelf, home, or this shelf."""
    hold = session.get(Hold, copy.hold_id) if copy.hold_id else None
    if hold is None or hold.status not in ("in_transit", "ready") or hold.barcode != copy.barcode:
        hold = next_hold(session, copy.isbn)
    home = common.branch(session, copy.home_branch)
    floating = home.floating and here.institution == home.institution
    slip = route(
        here=here.code, home=home.code, floating=floating, hold=(hold.id, hold.pickup_branch) if hold else None
    )
    if slip.status != copy.status:
        check_transition(copy.status, slip.status)
    copy.status, copy.location, copy.updated_at = slip.status, here.code, now
    copy.hold_id = slip.hold_id
    if slip.status == CopyStatus.IN_TRANSIT:
        copy.transit_to, copy.transit_since = slip.destination, now
    else:
        copy.transit_to = copy.transit_since = None
    session.add(copy)
    if hold is not None:
        if slip.status == CopyStatus.AWAITING_PICKUP:
            if hold.status != "ready":
                hold_ready(ctx, session, hold, copy, now, causation)
        else:
            hold.status, hold.barcode = "in_transit", copy.barcode
            session.add(hold)
    if slip.status == CopyStatus.IN_TRANSIT:
        title = common.title(session, copy.isbn)
        ctx.emit(
            session,
            BookInTransit(
                barcode=copy.barcode,
                isbn=copy.isbn,
                title=title.title,
                from_branch=here.code,
                to_branch=slip.destination,
                reason=slip.reason,
            ),
            subject=copy.barcode,
            causation=causation,
        )
    return slip


def checkin(
    ctx,
    session: Session,
    barcode: str,
    branch_code: str,
    *,
    causation: CloudEvent | None = None,
    partner_event: bool = False,
    returned_at: datetime | None = None,
    who: Principal | None = None,
) -> Routed:
    """Return a copy at any branch; closes its loan and answers with the routing slip.

    A partner's copy checked in at one of our branches is also reported to that partner on its
    egress stream (``partner:<CODE>:out``) as a BookReturned. ``partner_event`` marks returns the
    partner itself reported (no echo back); ``returned_at`` is when the partner's desk took the book
    (kept between the check-out and now).
    """
    now = ctx.clock.now()
    here = common.branch(session, branch_code)
    scope.require_branch(session, who, here.code)
    copy = common.copy_for_update(session, barcode)
    if copy.status == CopyStatus.WITHDRAWN:
        raise Conflict("此书已剔旧，不能还入 / this copy is withdrawn", code="copy_withdrawn")
    title = common.title(session, copy.isbn)
    if copy.status == CopyStatus.AWAITING_PICKUP and copy.location == here.code:
        raise Conflict(
            "此书已在本馆预约架上 / this copy is already on this branch's hold shelf", code="already_on_hold_shelf"
        )
    loan = common.open_loan_of(session, copy.barcode)
    when = now
    if loan is not None:
        if returned_at is not None:
            when = max(min(as_utc(returned_at), now), as_utc(loan.checked_out_at))
        loan.returned_at, loan.returned_branch = when, here.code
        session.add(loan)
    slip = route_copy(ctx, session, copy, here, now, causation)
    returned = BookReturned(
        barcode=copy.barcode,
        isbn=copy.isbn,
        title=title.title,
        branch=here.code,
        returned_at=when,
        loan_id=loan.id if loan else None,
        reader_id=loan.reader_id if loan else None,
    )
    if loan is not None:
        ctx.emit(session, returned, subject=loan.id, causation=causation)
    home = common.branch(session, copy.home_branch)
    partners = library_settings().partners
    if not partner_event and home.institution in partners and here.institution != home.institution:
        egress = returned.model_copy(update={"reader_id": None, "loan_id": None})
        ctx.emit(session, egress, subject=copy.barcode, causation=causation, stream=f"partner:{home.institution}:out")
    session.flush()
    return Routed(copy, here, slip, loan)


def arrive(ctx, session: Session, barcode: str, branch_code: str, who: Principal | None = None) -> Routed:
    """An arrival scan completes a transfer: the copy is shelved here or goes on the hold shelf."""
    now = ctx.clock.now()
    here = common.branch(session, branch_code)
    scope.require_branch(session, who, here.code)
    copy = common.copy_for_update(session, barcode)
    if copy.status != CopyStatus.IN_TRANSIT:
        raise Conflict(f"此书不在途中 / this copy is not in transit (status {copy.status})", code="not_in_transit")
    if copy.transit_to != here.code:
        raise Conflict(
            f"此书应送往 {copy.transit_to} / this copy is in transit to {copy.transit_to}", code="wrong_destination"
        )
    title = common.title(session, copy.isbn)
    ctx.emit(
        session,
        BookArrived(barcode=copy.barcode, isbn=copy.isbn, title=title.title, branch=here.code),
        subject=copy.barcode,
    )
    slip = route_copy(ctx, session, copy, here, now)
    session.flush()
    return Routed(copy, here, slip)


def renew(ctx, session: Session, loan: Loan) -> Loan:
    """One more period, unless the renewal limit is reached or another reader holds the title."""
    if loan.returned_at is not None:
        raise Conflict("此书已归还 / the loan is already returned", code="loan_returned")
    copy = session.get(Copy, loan.barcode)
    reader = common.reader_for_update(session, loan.reader_id)
    rule = policy.resolve(session, loan.branch, reader.group)
    if loan.renewals >= rule.max_renewals:
        raise Conflict(
            f"续借次数已用完（最多{rule.max_renewals}次） / no renewals left (max {rule.max_renewals})",
            code="renewal_limit",
        )
    waiting = session.execute(select(Hold.id).where(Hold.isbn == copy.isbn, Hold.status == "waiting")).first()
    if waiting:
        raise Conflict("此书有人预约，不能续借 / another reader holds this title: no renewal", code="title_on_hold")
    loan.renewals += 1
    loan.due_at = as_utc(loan.due_at) + timedelta(days=rule.renewal_days)
    loan.overdue_stage = 0
    session.add(loan)
    title = common.title(session, copy.isbn)
    ctx.emit(
        session,
        BookRenewed(**common.loan_facts(loan, copy, title, reader), renewals=loan.renewals),
        subject=loan.id,
    )
    return loan


def renew_as(ctx, session: Session, who: Principal, loan_id: str) -> Loan:
    """Renew a loan for staff of the lending branch, or for the resident whose loan it is.

    Anyone else is told there is no such loan (who borrowed what is personal data).
    """
    loan = common.loan(session, loan_id)
    if who.has("staff", "operator") and scope.serves_branch(session, who, loan.branch):
        return renew(ctx, session, loan)
    if not who.has("resident") or by_user(session, who.sub).id != loan.reader_id:
        raise NotFound(f"没有这笔借阅 / no loan {loan_id}")
    return renew(ctx, session, loan)
