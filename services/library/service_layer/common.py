"""Helpers shared by the library use cases: ids, lookups with clear 404s, locks, display forms."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from services.library.adapters.orm import Branch, Copy, Hold, Loan, Reader, Title
from services.library.domain.errors import NotFound
from shared.clock import as_utc, local


def new_id(prefix: str) -> str:
    """A short random id with a type prefix (``L…`` loan, ``H…`` hold, ``R…`` reader)."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def show_time(value: datetime | None) -> str | None:
    """A stored UTC time as Asia/Shanghai text for people (``2026-12-28 10:00``)."""
    return local(value).strftime("%Y-%m-%d %H:%M") if value is not None else None


def branch(session: Session, code: str) -> Branch:
    """The branch, or 404."""
    found = session.get(Branch, code)
    if found is None:
        raise NotFound(f"没有这个分馆 / no branch {code}")
    return found


def title(session: Session, isbn: str) -> Title:
    """The title by ISBN-13, or 404."""
    found = session.get(Title, isbn)
    if found is None:
        raise NotFound(f"没有这个书目 / no title with ISBN {isbn}")
    return found


def copy_for_update(session: Session, barcode: str) -> Copy:
    """The copy, locked for the rest of the transaction (row lock on PostgreSQL)."""
    found = session.execute(select(Copy).where(Copy.barcode == barcode).with_for_update()).scalar_one_or_none()
    if found is None:
        raise NotFound(f"没有这个条码 / no copy with barcode {barcode}")
    return found


def reader_for_update(session: Session, reader_id: str) -> Reader:
    """The reader, locked: serialises check-outs of one reader so the loan limit cannot race."""
    found = session.execute(select(Reader).where(Reader.id == reader_id).with_for_update()).scalar_one_or_none()
    if found is None:
        raise NotFound(f"没有这位读者 / no reader {reader_id}")
    return found


def reader(session: Session, reader_id: str) -> Reader:
    """The reader, or 404."""
    found = session.get(Reader, reader_id)
    if found is None:
        raise NotFound(f"没有这位读者 / no reader {reader_id}")
    return found


def loan(session: Session, loan_id: str) -> Loan:
    """The loan, or 404."""
    found = session.get(Loan, loan_id)
    if found is None:
        raise NotFound(f"没有这笔借阅 / no loan {loan_id}")
    return found


def hold(session: Session, hold_id: str) -> Hold:
    """The hold, or 404."""
    found = session.get(Hold, hold_id)
    if found is None:
        raise NotFound(f"没有这个预约 / no hold {hold_id}")
    return found


def open_loan_of(session: Session, barcode: str) -> Loan | None:
    """The copy's loan that is not returned yet, if any."""
    return session.execute(select(Loan).where(Loan.barcode == barcode, Loan.returned_at.is_(None))).scalar_one_or_none()


def utc(value: datetime) -> datetime:
    """A stored time as aware UTC (SQLite returns naive values)."""
    return as_utc(value)
