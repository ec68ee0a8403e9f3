"""Erasing a resident from the library (``ResidentErased``): the reader card linked to their account.

The card row stays (a loan still open must know a book is out, and reports count readers) but keeps
nothing of the person: no name, no ID-number hash or mask (so the card can be registered again, as
a new reader), no account link, no QR token, no block reason. Their active holds are cancelled (a
copy set aside goes to the next reader); returned loans and closed holds lose the reader id
(tombstone), so the statistics (which copy, where, when) stay without a borrower. Reads they made
as staff in the access log keep their time and purpose under the tombstone.

A reader registered at the desk without an app account is not linked to any ``sub``; staff erase
such a card with the same function through :func:`erase_reader`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from services.library.adapters.orm import Hold, Loan, Reader, access_log
from services.library.service_layer import holds
from shared.erasure import ERASED_TEXT, TOMBSTONE, retire
from shared.service import ServiceContext

ACTIVE_HOLDS = ("waiting", "in_transit", "ready")


def erase_person(ctx: ServiceContext, session: Session, sub: str, now: datetime) -> int:
    """Erase the card linked to ``sub`` (if any) and tombstone ``sub`` in the access log; rows changed."""
    changed = retire(session, sub, [access_log.table.c.actor])
    reader = session.scalars(select(Reader).where(Reader.user == sub).with_for_update()).first()
    if reader is not None:
        changed += erase_reader(ctx, session, reader, now)
    return changed


def erase_reader(ctx: ServiceContext, session: Session, reader: Reader, now: datetime) -> int:
    """Anonymise one card: its holds cancelled, its finished loans and closed holds unlinked."""
    reader.name = ERASED_TEXT
    reader.id_hash = f"erased:{reader.id}"
    reader.id_masked = ""
    reader.user = reader.qr_hash = reader.blocked_reason = None
    session.add(reader)
    session.flush()
    active = list(session.scalars(select(Hold).where(Hold.reader_id == reader.id, Hold.status.in_(ACTIVE_HOLDS))))  # type: ignore[attr-defined]
    for hold in active:
        holds.cancel(ctx, session, hold)
    return 1 + len(active) + unlink_finished(session, reader.id, now)


def unlink_finished(session: Session, reader_id: str, before: datetime) -> int:
    """Returned loans and closed holds of ``reader_id`` (finished before ``before``) lose the reader."""
    loans = session.execute(
        update(Loan)
        .where(Loan.reader_id == reader_id, Loan.returned_at.is_not(None), Loan.returned_at <= before)  # type: ignore[union-attr,operator]
        .values(reader_id=TOMBSTONE)
    )
    closed = session.execute(
        update(Hold)
        .where(Hold.reader_id == reader_id, Hold.closed_at.is_not(None), Hold.closed_at <= before)  # type: ignore[union-attr,operator]
        .values(reader_id=TOMBSTONE)
    )
    return int(loans.rowcount or 0) + int(closed.rowcount or 0)  # type: ignore[attr-defined]
