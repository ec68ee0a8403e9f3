"""Readers: the national ID card as reader card (hash + mask only), app links, QR tokens, blocks."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from services.library.adapters.orm import Loan, Reader
from services.library.service_layer.common import connection, reader
from shared.db.driver import fetch
from shared.errors import Conflict, Invalid, NotFound
from shared.events.library import ReaderBlocked, ReaderUnblocked
from shared.ids import new_id
from shared.pii import InvalidIdNumber, keyed_hash, mask_id_number, validate_id_number


def card_hash(id_number: str) -> tuple[str, str]:
    """``(keyed hash, masked form)`` of a valid ID number; :class:`Invalid` says what is wrong."""
    try:
        compact = validate_id_number(id_number)
    except InvalidIdNumber as exc:
        raise Invalid(str(exc), code="bad_id_number") from None
    return keyed_hash(compact), mask_id_number(compact)


def register(
    ctx, session: Session, *, id_number: str, name: str, group: str = "adult", user: str | None = None
) -> Reader:
    """A new reader; 409 when the card or the app account is already registered."""
    digest, masked = card_hash(id_number)
    if session.execute(select(Reader.id).where(Reader.id_hash == digest)).first():
        hint = "；请到书屋出示身份证绑定账号 / show the card at a book house to link your account" if user else ""
        raise Conflict(f"该身份证已登记为读者 / this ID card is already registered{hint}", code="card_registered")
    if user and session.execute(select(Reader.id).where(Reader.user == user)).first():
        raise Conflict("该账号已绑定读者证 / this account already has a reader card", code="account_has_card")
    row = Reader(
        id=new_id("R"), id_hash=digest, id_masked=masked, name=name, group=group, user=user, created_at=ctx.clock.now()
    )
    session.add(row)
    session.flush()
    return row


_BY_CARD = select(Reader).where(Reader.id_hash == bindparam("digest"))
_BY_USER = select(Reader).where(Reader.user == bindparam("user"))
"""A reader by card hash (every check-out by card) and by app account (every ``/readers/me``): built once."""


def by_card(session: Session, id_number: str) -> Reader:
    """The reader with this ID card (looked up by keyed hash), or 404."""
    digest, _ = card_hash(id_number)
    found = session.execute(_BY_CARD, {"digest": digest}).scalar_one_or_none()
    if found is None:
        raise NotFound("该身份证未登记为读者 / no reader with this ID card")
    return found


def reader_id_of(
    session: Session, *, card: str | None = None, qr: str | None = None, reader_id: str | None = None
) -> str:
    """The id of the reader named by ID card, app QR token or reader id (exactly one), or 404, as
    :func:`identify` finds it: a card without building an ORM object (every check-out by card)."""
    if sum(x is not None for x in (card, qr, reader_id)) != 1:
        raise Invalid("请提供身份证、二维码或读者号之一 / give one of card, qr or reader_id", code="one_identifier")
    if card is not None:
        digest, _ = card_hash(card)
        rows = fetch(connection(session), _ID_BY_CARD, {"digest": digest})
        if not rows:
            raise NotFound("该身份证未登记为读者 / no reader with this ID card")
        return str(rows[0].id)
    if qr is not None:
        return by_qr(session, qr).id
    assert reader_id is not None
    return reader(session, reader_id).id


def by_user(session: Session, user: str) -> Reader:
    """The reader linked to an app account, or 404."""
    found = session.execute(_BY_USER, {"user": user}).scalar_one_or_none()
    if found is None:
        raise no_card()
    return found


_R = Reader.__table__.c  # type: ignore[attr-defined]
_CARD = (_R.id, _R.name, _R.id_masked, _R.group, _R.user, _R.blocked_reason)
"""What a reader's card shows (:func:`services.library.service_layer.views.reader`): no hashes."""
_CARD_BY_USER = select(*_CARD).where(_R.user == bindparam("user"))
_ID_BY_CARD = select(_R.id).where(_R.id_hash == bindparam("digest"))
"""A card by app account (every ``/readers/me``), a reader's id by card hash (every check-out by card):
plain rows read through the driver on SQLite (:mod:`shared.db.driver`), built once."""


def no_card() -> NotFound:
    """The 404 of an app account without a reader card."""
    return NotFound("您还没有读者证 / this account has no reader card yet", code="no_reader_card")


def card_of_user(session: Session, user: str) -> Any:
    """The card (a row of :data:`_CARD`'s columns) of the reader linked to an app account, or 404.

    Like :func:`by_user`, without building an ORM object: for reads that only show the card.
    """
    rows = fetch(connection(session), _CARD_BY_USER, {"user": user})
    if not rows:
        raise no_card()
    return rows[0]


def _qr_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def by_qr(session: Session, token: str) -> Reader:
    """The reader whose current app QR token this is, or 404."""
    found = session.execute(select(Reader).where(Reader.qr_hash == _qr_digest(token))).scalar_one_or_none()
    if found is None:
        raise NotFound("二维码无效或已更换 / unknown or replaced QR token")
    return found


def identify(
    session: Session, *, card: str | None = None, qr: str | None = None, reader_id: str | None = None
) -> Reader:
    """Find the reader by ID card, app QR token or reader id (exactly one)."""
    if sum(x is not None for x in (card, qr, reader_id)) != 1:
        raise Invalid("请提供身份证、二维码或读者号之一 / give one of card, qr or reader_id", code="one_identifier")
    if card is not None:
        return by_card(session, card)
    if qr is not None:
        return by_qr(session, qr)
    return reader(session, reader_id)


def issue_qr(session: Session, row: Reader) -> str:
    """A fresh QR token for the app (the previous one stops working); only its hash is kept."""
    token = secrets.token_urlsafe(24)
    row.qr_hash = _qr_digest(token)
    session.add(row)
    return token


def link_user(session: Session, row: Reader, user: str) -> Reader:
    """Link an app account to the reader (one reader per account)."""
    other = session.execute(select(Reader.id).where(Reader.user == user, Reader.id != row.id)).first()
    if other:
        raise Conflict("该账号已绑定其他读者证 / this account is linked to another reader", code="account_has_card")
    row.user = user
    session.add(row)
    return row


def block(ctx, session: Session, row: Reader, reason: str) -> Reader:
    """Staff block with a reason: no borrowing until unblocked (returns still work)."""
    if row.blocked_reason:
        raise Conflict("读者已被停借 / the reader is already blocked", code="already_blocked")
    row.blocked_reason, row.blocked_at = reason, ctx.clock.now()
    session.add(row)
    ctx.emit(session, ReaderBlocked(reader_id=row.id, reason=reason), subject=row.id)
    return row


def unblock(ctx, session: Session, row: Reader) -> Reader:
    """Lift a staff block."""
    if not row.blocked_reason:
        raise Conflict("读者未被停借 / the reader is not blocked", code="not_blocked")
    row.blocked_reason, row.blocked_at = None, None
    session.add(row)
    ctx.emit(session, ReaderUnblocked(reader_id=row.id), subject=row.id)
    return row


def overdue_count(session: Session, reader_id: str, now: datetime) -> int:
    """How many of the reader's open loans are past due at ``now``."""
    return len(fetch(connection(session), _OVERDUE, {"reader_id": reader_id, "now": now}))


_OVERDUE = select(Loan.id).where(
    Loan.reader_id == bindparam("reader_id"), Loan.returned_at.is_(None), Loan.due_at < bindparam("now")
)
"""A reader's open loans past due (built once: every check-out asks)."""
