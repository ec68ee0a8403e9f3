"""Check-out, check-in with routing slip, arrival scans and renewals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlmodel import Session

from services.library.adapters.orm import Branch, Copy, Hold, Loan
from services.library.config import library_settings
from services.library.domain.routing import Slip, route
from services.library.domain.status import CopyStatus, check_transition
from services.library.service_layer import common, policy, scope
from services.library.service_layer.readers import by_user, overdue_count
from shared.clock import as_utc
from shared.db.rows import new_row
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


def checkout(
    ctx, session: Session, reader_id: str, barcode: str, branch_code: str, who: Principal | None = None
) -> Loan:
    """Lend a copy at any branch: blocked readers, the loan limit and copy status are checked under lock.

    ``who`` (staff at the desk) must serve the branch's community (:mod:`.scope`).
    """
    now = ctx.clock.now()
    here = common.branch(session, branch_code)
    scope.require_branch(session, who, here.code)
    reader = common.reader_for_update(session, reader_id)
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
    open_loans = session.execute(_OPEN_LOANS, {"reader_id": reader.id}).scalar_one()
    if open_loans >= rule.max_loans:
        raise Conflict(
            f"每位读者最多同时借{rule.max_loans}本 / at most {rule.max_loans} books at a time", code="loan_limit"
        )
    copy = common.copy_for_update(session, barcode)
    held: Hold | None = None
    if copy.status == CopyStatus.AWAITING_PICKUP:
        held = session.get(Hold, copy.hold_id) if copy.hold_id else None
        if held is None or held.reader_id != reader.id:
            raise Conflict(
                "此书已被他人预约，待其取书 / this copy is on the hold shelf for another reader", code="held_for_other"
            )
    elif copy.status != CopyStatus.AVAILABLE:
        check_transition(copy.status, CopyStatus.CHECKED_OUT)
    title = common.title(session, copy.isbn)
    loan = new_row(  # built as a loaded row: the constructor's per-field __setattr__ costs more (shared/db/rows.py)
        Loan,
        id=new_id("L"),
        barcode=copy.barcode,
        reader_id=reader.id,
        branch=here.code,
        checked_out_at=now,
        due_at=now + timedelta(days=rule.loan_days),
    )
    session.add(loan)
    if held is not None:
        held.status, held.closed_at = "fulfilled", now
        session.add(held)
    copy.status, copy.location, copy.hold_id = CopyStatus.CHECKED_OUT, here.code, None
    copy.transit_to = copy.transit_since = None
    copy.updated_at = now
    session.add(copy)
    session.flush()
    ctx.emit(
        session,
        BookCheckedOut(**common.loan_facts(loan, copy, title, reader), branch=here.code),
        subject=loan.id,
    )
    return loan


_OPEN_LOANS = (
    select(func.count()).select_from(Loan).where(Loan.reader_id == bindparam("reader_id"), Loan.returned_at.is_(None))
)
"""A reader's open loans, counted (built once: every check-out asks)."""


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
