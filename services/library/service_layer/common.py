"""Lookups shared by the library use cases: rows by key with clear 404s, rows locked for a change.

Also what the events tell of a loan and of a hold (``loan_facts``, ``hold_facts``).
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, bindparam, select
from sqlmodel import Session

from services.library.adapters.orm import Branch, Copy, Hold, Loan, Reader, Title
from shared.db.driver import flushed
from shared.db.lookup import get_or_404
from shared.errors import NotFound

Row = TypeVar("Row")


def connection(session: Session) -> Connection:
    """The connection of ``session``'s transaction for a read or write through the driver
    (:mod:`shared.db.driver`), after flushing pending ORM changes as ``session.execute`` would (autoflush)."""
    return flushed(session)


def branch(session: Session, code: str) -> Branch:
    """The branch, or 404."""
    return get_or_404(session, Branch, code, f"没有这个分馆 / no branch {code}")


def title(session: Session, isbn: str) -> Title:
    """The title by ISBN-13, or 404."""
    return get_or_404(session, Title, isbn, f"没有这个书目 / no title with ISBN {isbn}")


def copy(session: Session, barcode: str) -> Copy:
    """The copy, or 404."""
    return get_or_404(session, Copy, barcode, f"没有这个条码 / no copy with barcode {barcode}")


def _locked(session: Session, model: type[Row], key: Any, value: str, missing: str) -> Row:
    """The row of ``model`` whose ``key`` column is ``value``, locked for the rest of the transaction, or 404."""
    found = session.execute(_lock_statement(model, key), {"key": value}).scalar_one_or_none()
    if found is None:
        raise NotFound(missing)
    return found


@cache
def _lock_statement(model: type[Any], key: Any) -> Select[Any]:
    """``SELECT … FOR UPDATE`` of a row by ``key``, built once per model (each check-out locks a reader and a copy)."""
    return select(model).where(key == bindparam("key")).with_for_update()


def copy_for_update(session: Session, barcode: str) -> Copy:
    """The copy, locked for the rest of the transaction (row lock on PostgreSQL)."""
    return _locked(session, Copy, Copy.barcode, barcode, f"没有这个条码 / no copy with barcode {barcode}")


def reader_for_update(session: Session, reader_id: str) -> Reader:
    """The reader, locked: serialises check-outs of one reader so the loan limit cannot race."""
    return _locked(session, Reader, Reader.id, reader_id, f"没有这位读者 / no reader {reader_id}")


def reader(session: Session, reader_id: str) -> Reader:
    """The reader, or 404."""
    return get_or_404(session, Reader, reader_id, f"没有这位读者 / no reader {reader_id}")


def loan(session: Session, loan_id: str) -> Loan:
    """The loan, or 404."""
    return get_or_404(session, Loan, loan_id, f"没有这笔借阅 / no loan {loan_id}")


def hold(session: Session, hold_id: str) -> Hold:
    """The hold, or 404."""
    return get_or_404(session, Hold, hold_id, f"没有这个预约 / no hold {hold_id}")


def open_loan_of(session: Session, barcode: str) -> Loan | None:
    """The copy's loan that is not returned yet, if any."""
    return session.execute(_OPEN_LOAN, {"barcode": barcode}).scalar_one_or_none()


_OPEN_LOAN = select(Loan).where(Loan.barcode == bindparam("barcode"), Loan.returned_at.is_(None))
"""A copy's open loan (built once: every check-in asks)."""


def loan_facts(loan: Loan, copy: Copy | None, title: Title | None, reader: Reader | None) -> dict[str, Any]:
    """The fields every loan event shares: the copy, its title, the loan, its reader and due date."""
    return {
        "barcode": loan.barcode,
        "isbn": copy.isbn if copy else None,
        "title": title.title if title else None,
        "loan_id": loan.id,
        "reader_id": loan.reader_id,
        "reader_user": reader.user if reader else None,
        "due_at": loan.due_at,
    }


def hold_facts(session: Session, hold: Hold) -> dict[str, Any]:
    """The fields HoldReady and HoldExpired share: the hold, its reader and title (404 without the title)."""
    found = session.get(Reader, hold.reader_id)
    return {
        "hold_id": hold.id,
        "reader_id": hold.reader_id,
        "reader_user": found.user if found else None,
        "isbn": hold.isbn,
        "title": title(session, hold.isbn).title,
    }
