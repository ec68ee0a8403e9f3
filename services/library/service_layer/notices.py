"""Loan notices for notify: LoanDueSoon and LoanOverdue stages, each claimed exactly once per loan."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlmodel import Session

from services.library.adapters.orm import Copy, Loan, Reader, Title
from services.library.config import library_settings
from services.library.domain import notices
from services.library.service_layer.common import loan_facts
from shared.clock import as_utc
from shared.events.library import LoanDueSoon, LoanOverdue

QUIET = ("claimed_returned", "lost")


def _facts(session: Session, loan: Loan) -> dict:
    copy = session.get(Copy, loan.barcode)
    title = session.get(Title, copy.isbn) if copy else None
    return loan_facts(loan, copy, title, session.get(Reader, loan.reader_id))


def _claim(session: Session, loan: Loan, not_sent: Any, **sent: Any) -> bool:
    """Mark a notice sent (``sent``) on a loan still open, due when it was read and ``not_sent``; True if won."""
    stmt = update(Loan).where(Loan.id == loan.id, Loan.returned_at.is_(None), Loan.due_at == loan.due_at, not_sent)
    return session.execute(stmt.values(**sent)).rowcount == 1


def send_due(ctx, now: datetime) -> int:
    """Emit every notice that is due at ``now``; returns how many were sent.

    A notice is claimed with ``UPDATE loan ... WHERE <not yet sent> AND returned_at IS NULL`` in the
    same transaction as its event, so two replicas or a restart never send one twice, and a
    returned loan never gets one (nor a loan whose copy is marked claimed returned or lost).
    """
    s = library_settings()
    horizon = now + timedelta(days=s.due_soon_days)
    with ctx.store.transaction() as session:
        candidates = (
            session.execute(
                select(Loan.id).where(
                    Loan.returned_at.is_(None),
                    Loan.due_at <= horizon,
                    or_(
                        Loan.due_soon_for.is_(None),
                        Loan.due_soon_for != Loan.due_at,
                        and_(Loan.due_at <= now, Loan.overdue_stage < len(s.overdue_days)),
                    ),
                )
            )
            .scalars()
            .all()
        )
    sent = 0
    for loan_id in candidates:
        with ctx.store.transaction() as session:
            loan = session.get(Loan, loan_id)
            if loan is None or loan.returned_at is not None:
                continue
            copy = session.get(Copy, loan.barcode)
            if copy is not None and copy.status in QUIET:  # staff are sorting it out with the reader
                continue
            due_at = as_utc(loan.due_at)
            days_left = notices.due_soon(now, due_at, s.due_soon_days)
            if days_left is not None and (loan.due_soon_for is None or as_utc(loan.due_soon_for) != due_at):
                not_sent = or_(Loan.due_soon_for.is_(None), Loan.due_soon_for != loan.due_at)
                if _claim(session, loan, not_sent, due_soon_for=loan.due_at):
                    ctx.emit(session, LoanDueSoon(**_facts(session, loan), days_left=days_left), subject=loan.id)
                    sent += 1
            stage = notices.overdue_stage(now, due_at, s.overdue_days, loan.overdue_stage)
            claimed = stage is not None and _claim(
                session, loan, Loan.overdue_stage == loan.overdue_stage, overdue_stage=stage
            )
            if claimed:
                days = (now - due_at).days
                ctx.emit(session, LoanOverdue(**_facts(session, loan), days_overdue=days), subject=loan.id)
                sent += 1
    return sent
