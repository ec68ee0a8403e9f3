"""Staff reports: loans by branch, overdue list, in-transit list with age, holds waiting (cursor pages).

Each covers the branches the caller serves (``scope.branch_clause``): operators and city-wide staff
see every branch, community staff their book houses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from services.library.adapters.orm import Copy, Hold, Loan, Reader, Title
from services.library.service_layer import scope
from shared.clock import as_utc, shown
from shared.identity import Principal
from shared.web.pages import Page, PageQuery, keyset, page_of


def loans_by_branch(session: Session, who: Principal, page: PageQuery) -> Page[dict[str, Any]]:
    """Open loans per lending branch, by branch code."""
    stmt = (
        select(Loan.branch, func.count())
        .where(Loan.returned_at.is_(None), scope.branch_clause(session, who, Loan.branch))
        .group_by(Loan.branch)
    )
    rows = session.execute(keyset(stmt, [Loan.branch], page)).all()
    return page_of(rows, page, key=lambda row: (row[0],), view=lambda row: {"branch": row[0], "open_loans": row[1]})


def overdue(session: Session, who: Principal, now: datetime, page: PageQuery) -> Page[dict[str, Any]]:
    """Open loans past due, oldest first, with the masked card."""
    stmt = (
        select(Loan, Reader, Title)
        .join(Reader, Reader.id == Loan.reader_id)
        .join(Copy, Copy.barcode == Loan.barcode)
        .join(Title, Title.isbn == Copy.isbn)
        .where(Loan.returned_at.is_(None), Loan.due_at < now, scope.branch_clause(session, who, Loan.branch))
    )
    rows = session.execute(keyset(stmt, [Loan.due_at, Loan.id], page)).all()

    def view(row: Any) -> dict[str, Any]:
        loan, reader, title = row
        return {
            "loan_id": loan.id,
            "barcode": loan.barcode,
            "title": title.title,
            "reader_id": reader.id,
            "reader": reader.name,
            "card": reader.id_masked,
            "branch": loan.branch,
            "due_at": shown(loan.due_at),
            "days_overdue": (now - as_utc(loan.due_at)).days,
        }

    return page_of(rows, page, key=lambda row: (row[0].due_at, row[0].id), view=view)


def in_transit(session: Session, who: Principal, now: datetime, page: PageQuery) -> Page[dict[str, Any]]:
    """Copies in transit from or to the caller's branches, oldest first, with their age in days."""
    stmt = (
        select(Copy, Title)
        .join(Title, Title.isbn == Copy.isbn)
        .where(Copy.status == "in_transit", scope.branch_clause(session, who, Copy.location, Copy.transit_to))
    )
    rows = session.execute(keyset(stmt, [Copy.transit_since, Copy.barcode], page)).all()

    def view(row: Any) -> dict[str, Any]:
        c, t = row
        since = as_utc(c.transit_since) if c.transit_since else None
        return {
            "barcode": c.barcode,
            "title": t.title,
            "from": c.location,
            "to": c.transit_to,
            "since": shown(since),
            "age_days": round((now - since).total_seconds() / 86400, 1) if since else None,
        }

    return page_of(rows, page, key=lambda row: (row[0].transit_since, row[0].barcode), view=view)


def holds_waiting(session: Session, who: Principal, now: datetime, page: PageQuery) -> Page[dict[str, Any]]:
    """Active holds to be picked up at the caller's branches, in queue order."""
    stmt = (
        select(Hold, Title)
        .join(Title, Title.isbn == Hold.isbn)
        .where(
            Hold.status.in_(("waiting", "in_transit", "ready")),
            scope.branch_clause(session, who, Hold.pickup_branch),
        )
    )
    rows = session.execute(keyset(stmt, [Hold.placed_at, Hold.id], page)).all()

    def view(row: Any) -> dict[str, Any]:
        h, t = row
        return {
            "hold_id": h.id,
            "isbn": h.isbn,
            "title": t.title,
            "reader_id": h.reader_id,
            "status": h.status,
            "pickup_branch": h.pickup_branch,
            "placed_at": shown(h.placed_at),
            "expires_at": shown(h.expires_at),
            "waiting_days": (now - as_utc(h.placed_at)).days,
        }

    return page_of(rows, page, key=lambda row: (row[0].placed_at, row[0].id), view=view)
