"""Staff reports: loans by branch, overdue list, in-transit list with age, holds waiting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from services.library.adapters.orm import Copy, Hold, Loan, Reader, Title
from services.library.service_layer.common import show_time, utc


def loans_by_branch(session: Session) -> list[dict]:
    """Open loans per lending branch."""
    rows = session.execute(
        select(Loan.branch, func.count()).where(Loan.returned_at.is_(None)).group_by(Loan.branch).order_by(Loan.branch)
    ).all()
    return [{"branch": b, "open_loans": n} for b, n in rows]


def overdue(session: Session, now: datetime) -> list[dict]:
    """Open loans past due, oldest first, with the masked card."""
    rows = session.execute(
        select(Loan, Reader, Copy, Title)
        .join(Reader, Reader.id == Loan.reader_id)
        .join(Copy, Copy.barcode == Loan.barcode)
        .join(Title, Title.isbn == Copy.isbn)
        .where(Loan.returned_at.is_(None), Loan.due_at < now)
        .order_by(Loan.due_at)
    ).all()
    return [
        {
            "loan_id": loan.id,
            "barcode": loan.barcode,
            "title": title.title,
            "reader_id": reader.id,
            "reader": reader.name,
            "card": reader.id_masked,
            "branch": loan.branch,
            "due_local": show_time(loan.due_at),
            "days_overdue": (now - utc(loan.due_at)).days,
        }
        for loan, reader, copy, title in rows
    ]


def in_transit(session: Session, now: datetime) -> list[dict]:
    """Copies in transit, oldest first, with their age in days (stuck transfers stand out)."""
    rows = session.execute(
        select(Copy, Title)
        .join(Title, Title.isbn == Copy.isbn)
        .where(Copy.status == "in_transit")
        .order_by(Copy.transit_since)
    ).all()
    return [
        {
            "barcode": c.barcode,
            "title": t.title,
            "from": c.location,
            "to": c.transit_to,
            "since_local": show_time(c.transit_since),
            "age_days": round((now - utc(c.transit_since)).total_seconds() / 86400, 1) if c.transit_since else None,
        }
        for c, t in rows
    ]


def holds_waiting(session: Session, now: datetime) -> list[dict]:
    """Active holds in queue order."""
    rows = session.execute(
        select(Hold, Title)
        .join(Title, Title.isbn == Hold.isbn)
        .where(Hold.status.in_(("waiting", "in_transit", "ready")))
        .order_by(Hold.placed_at)
    ).all()
    return [
        {
            "hold_id": h.id,
            "isbn": h.isbn,
            "title": t.title,
            "reader_id": h.reader_id,
            "status": h.status,
            "pickup_branch": h.pickup_branch,
            "placed_local": show_time(h.placed_at),
            "expires_local": show_time(h.expires_at),
            "waiting_days": (now - utc(h.placed_at)).days,
        }
        for h, t in rows
    ]
