"""Loan policies per branch and reader group (the most specific rule wins; defaults from settings)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select
from sqlmodel import Session

from services.library.adapters.orm import LoanPolicy
from services.library.config import library_settings
from services.library.service_layer.common import connection
from shared.db.driver import fetch
from shared.errors import NotFound


@dataclass(frozen=True)
class Policy:
    """The loan rules that apply to one check-out."""

    max_loans: int
    loan_days: int
    max_renewals: int
    renewal_days: int


_P = LoanPolicy.__table__.c  # type: ignore[attr-defined]
_RULES = select(_P.branch, _P.reader_group, _P.max_loans, _P.loan_days, _P.max_renewals, _P.renewal_days).where(
    or_(_P.branch == bindparam("branch"), _P.branch == "*"),
    or_(_P.reader_group == bindparam("group"), _P.reader_group == "*"),
)
"""The rules that may apply to (branch, group), built once (every check-out and renewal reads them):
plain rows, through the driver on SQLite (:mod:`shared.db.driver`)."""


def resolve(session: Session, branch: str, group: str) -> Policy:
    """The rule for (branch, group), then (branch, *), (*, group), (*, *), then the settings' defaults."""
    rows = fetch(connection(session), _RULES, {"branch": branch, "group": group})
    if rows:
        best = max(rows, key=lambda r: (r.branch != "*", r.reader_group != "*"))
        return Policy(best.max_loans, best.loan_days, best.max_renewals, best.renewal_days)
    s = library_settings()
    return Policy(s.max_loans, s.loan_days, s.max_renewals, s.renewal_days)


def find(session: Session, branch: str, reader_group: str) -> LoanPolicy | None:
    """The stored rule for exactly (branch, reader group), ``None`` when there is none."""
    return session.execute(
        select(LoanPolicy).where(LoanPolicy.branch == branch, LoanPolicy.reader_group == reader_group)
    ).scalar_one_or_none()


def get(session: Session, branch: str, reader_group: str) -> LoanPolicy:
    """The stored rule for exactly (branch, reader group), or 404."""
    row = find(session, branch, reader_group)
    if row is None:
        raise NotFound("借阅规则不存在 / no loan rule for this branch and reader group")
    return row


def upsert(
    session: Session,
    *,
    branch: str,
    reader_group: str,
    max_loans: int,
    loan_days: int,
    max_renewals: int,
    renewal_days: int,
) -> LoanPolicy:
    """Create or change the rule for (branch, reader group)."""
    row = session.execute(
        select(LoanPolicy).where(LoanPolicy.branch == branch, LoanPolicy.reader_group == reader_group)
    ).scalar_one_or_none() or LoanPolicy(
        branch=branch, reader_group=reader_group, max_loans=0, loan_days=0, max_renewals=0, renewal_days=0
    )
    row.max_loans, row.loan_days, row.max_renewals, row.renewal_days = max_loans, loan_days, max_renewals, renewal_days
    session.add(row)
    session.flush()
    return row
