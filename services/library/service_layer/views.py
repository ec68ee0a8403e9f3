"""Read views of the library: what staff and readers see (dicts the edge's response models validate).

Times are shown in Asia/Shanghai (``shared.clock.shown``), serialised as ISO 8601 with ``+08:00``.
ID numbers never appear, only their masked form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, literal_column, null, select, type_coerce, union_all
from sqlmodel import Session

from services.library.adapters.orm import Branch, Copy, Hold, Loan, LoanPolicy, Reader, Title
from services.library.domain.isbn import normalize_isbn
from services.library.service_layer import common, privacy
from services.library.service_layer.circulation import ACTIVE_HOLD, Lent, Routed
from services.library.service_layer.readers import no_card
from shared.clock import SHANGHAI, as_utc, shown
from shared.db.driver import fetch
from shared.identity import Principal
from shared.web.pages import Page, PageQuery, keyset, page_of


def branch(row: Branch) -> dict[str, Any]:
    """A branch as everyone sees it."""
    return row.model_dump()


_BRANCHES = select(*Branch.__table__.columns)
"""Every column of a branch, as plain rows (no ORM objects to build for a read): built once, so that
``keyset`` keeps its first page."""


def branches(connection: Connection, page: PageQuery) -> Page[dict[str, Any]]:
    """Book houses and partner library desks, by code (on a connection: ``Runner.rows``)."""
    rows = connection.execute(keyset(_BRANCHES, [Branch.__table__.c.code], page)).all()
    return page_of(rows, page, key=lambda b: (b.code,), view=lambda b: dict(b._mapping))


def title(row: Title) -> dict[str, Any]:
    """A title's catalogue entry."""
    return row.model_dump()


def copy(session: Session, row: Copy) -> dict[str, Any]:
    """A copy as staff see it."""
    found = session.get(Title, row.isbn)
    return {
        "barcode": row.barcode,
        "isbn": row.isbn,
        "title": found.title if found else None,
        "home_branch": row.home_branch,
        "location": row.location,
        "status": row.status,
        "transit_to": row.transit_to,
        "hold_id": row.hold_id,
    }


def copy_by_barcode(session: Session, barcode: str) -> dict[str, Any]:
    """The copy with this barcode, or 404."""
    return copy(session, common.copy(session, barcode))


def title_detail(session: Session, isbn: str) -> dict[str, Any]:
    """A title with its copies (where they are, whether they can be borrowed) and its waiting holds."""
    row = common.title(session, normalize_isbn(isbn))
    copies = session.execute(select(Copy).where(Copy.isbn == row.isbn).order_by(Copy.barcode)).scalars().all()
    waiting = session.execute(select(Hold.id).where(Hold.isbn == row.isbn, Hold.status == "waiting")).all()
    return {**title(row), "copies": [copy(session, c) for c in copies], "holds_waiting": len(waiting)}


def policy(row: LoanPolicy) -> dict[str, Any]:
    """A loan rule."""
    return row.model_dump()


def reader(
    session: Session, row: Reader | Any, now: datetime, who: Principal | None = None, purpose: str = ""
) -> dict[str, Any]:
    """What staff and the reader see: never the ID number, only its masked form (staff reads are logged).

    ``row`` is a ``Reader`` or a row of its card's columns (``readers.card_of_user``)."""
    if who is not None:
        privacy.log_reader(session, who, row, purpose, now)
    loans = fetch(common.connection(session), _OPEN_LOANS, {"reader_id": row.id})
    return {
        "id": row.id,
        "name": row.name,
        "card": row.id_masked,
        "group": row.group,
        "user": row.user,
        "blocked": bool(row.blocked_reason),
        "blocked_reason": row.blocked_reason,
        "overdue": sum(1 for loan in loans if as_utc(loan.due_at) < now),
        "loans": [
            {"id": loan.id, "barcode": loan.barcode, "due_at": shown(loan.due_at), "renewals": loan.renewals}
            for loan in loans
        ],
    }


def reader_by_id(session: Session, reader_id: str, now: datetime, who: Principal, purpose: str) -> dict[str, Any]:
    """The reader with this id, or 404."""
    return reader(session, common.reader(session, reader_id), now, who, purpose)


def hold(row: Any) -> dict[str, Any]:
    """A hold as its reader sees it (a ``Hold``, or a row of the columns shown)."""
    return {
        "id": row.id,
        "isbn": row.isbn,
        "status": row.status,
        "pickup_branch": row.pickup_branch,
        "barcode": row.barcode,
        "expires_at": shown(row.expires_at),
    }


def me(connection: Connection, user: str, now: datetime) -> dict[str, Any]:
    """The resident's own card (masked), loans with due dates and active holds (as :func:`reader` and
    :func:`hold` show them), or 404: one read (:data:`_ME`), not one per part, on a connection (no ORM
    session: ``Runner.rows``). The resident's own read of her card is not access-logged (only staff reads are)."""
    rows = fetch(connection, _ME, {"user": user})
    if not rows or rows[0].kind != _CARD_ROW:
        raise no_card()
    card, overdue, loans, holds = rows[0], 0, [], []
    for row in rows[1:]:
        if row.kind == _LOAN_ROW:
            due = as_utc(row.at)
            overdue += due < now
            loans.append(
                {"id": row.id, "barcode": row.barcode, "due_at": due.astimezone(SHANGHAI), "renewals": row.renewals}
            )
        else:
            holds.append(
                {
                    "id": row.id,
                    "isbn": row.isbn,
                    "status": row.status,
                    "pickup_branch": row.pickup_branch,
                    "barcode": row.barcode,
                    "expires_at": shown(row.at),
                }
            )
    return {
        "id": card.id,
        "name": card.name,
        "card": card.card,
        "group": card.group,
        "user": card.user,
        "blocked": bool(card.blocked_reason),
        "blocked_reason": card.blocked_reason,
        "overdue": overdue,
        "loans": loans,
        "holds": holds,
    }


_OPEN_LOANS = (
    select(Loan.id, Loan.barcode, Loan.due_at, Loan.renewals)
    .where(Loan.reader_id == bindparam("reader_id"), Loan.returned_at.is_(None))
    .order_by(Loan.due_at, Loan.id)
)
"""A reader's open loans: the columns the views show, built once (plain rows read through the driver on
SQLite, no ORM objects)."""

_R, _L, _H = Reader.__table__.c, Loan.__table__.c, Hold.__table__.c  # type: ignore[attr-defined]
_CARD_ROW, _LOAN_ROW, _HOLD_ROW = 0, 1, 2


def _kind(value: int) -> Any:
    """Which part of :data:`_ME` a row is, written into the SQL (no parameter)."""
    return literal_column(str(value), Integer).label("kind")


def _none(name: str, type_: Any = None) -> Any:
    """A column another part of :data:`_ME` fills: ``NULL`` here (typed where the first part sets the type)."""
    return (null() if type_ is None else type_coerce(null(), type_)).label(name)


_MINE = _R.user == bindparam("user")
_ACTIVE = [literal_column(f"'{status}'") for status in ACTIVE_HOLD]  # constants, written into the SQL
_PARTS = union_all(
    select(
        _kind(_CARD_ROW), _R.id, _R.name, _R.id_masked.label("card"), _R.group, _R.user, _R.blocked_reason,
        _none("barcode"), _none("isbn"), _none("status"), _none("pickup_branch"), _none("at", _L.due_at.type),
        _none("renewals", _L.renewals.type), _none("sort"),
    ).where(_MINE),
    select(
        _kind(_LOAN_ROW), _L.id, _none("name"), _none("card"), _none("group"), _none("user"),
        _none("blocked_reason"), _L.barcode, _none("isbn"), _none("status"), _none("pickup_branch"),
        _L.due_at.label("at"), _L.renewals, _L.due_at.label("sort"),
    ).join_from(Loan, Reader, _L.reader_id == _R.id).where(_MINE, _L.returned_at.is_(None)),
    select(
        _kind(_HOLD_ROW), _H.id, _none("name"), _none("card"), _none("group"), _none("user"),
        _none("blocked_reason"), _H.barcode, _H.isbn, _H.status, _H.pickup_branch, _H.expires_at.label("at"),
        _none("renewals"), _H.placed_at.label("sort"),
    ).join_from(Hold, Reader, _H.reader_id == _R.id).where(_MINE, _H.status.in_(_ACTIVE)),
).subquery("mine")  # fmt: skip
_ME = select(*(c for c in _PARTS.c if c.key != "sort")).order_by(_PARTS.c.kind, _PARTS.c.sort, _PARTS.c.id)
"""``GET /readers/me`` in one read: the card of the reader linked to the account (kind 0), her open loans by
due date (kind 1, ``at`` the due date) and her active holds by when placed (kind 2, ``at`` when the hold
expires); the columns :func:`reader` and :func:`hold` show, no hashes. No card row: no reader. Built once."""


def checkout(session: Session, loan: Lent, who: Principal | None = None, purpose: str = "") -> dict[str, Any]:
    """The desk's answer to a check-out: what was lent to whom, until when (the reader's card read is logged)."""
    if who is not None:
        privacy.log_reader(session, who, loan.reader, purpose, loan.checked_out_at, loan.here.community)
    return {
        "loan_id": loan.id,
        "barcode": loan.barcode,
        "title": loan.title.title,
        "reader_id": loan.reader.id,
        "card": loan.reader.id_masked,
        "branch": loan.branch,
        "due_at": shown(loan.due_at),
    }


def renewal(loan: Loan) -> dict[str, Any]:
    """A renewed loan's new due date."""
    return {"loan_id": loan.id, "renewals": loan.renewals, "due_at": shown(loan.due_at)}


def slip(session: Session, routed: Routed) -> dict[str, Any]:
    """The routing slip of a check-in or an arrival scan: where the book goes next, in words for the desk."""
    here, decision = routed.here, routed.slip
    there = session.get(Branch, decision.destination)
    names = {here.code: here.name, **({there.code: there.name} if there else {})}
    return {
        "barcode": routed.copy.barcode,
        "title": common.title(session, routed.copy.isbn).title,
        "loan_id": routed.loan.id if routed.loan else None,
        "status": decision.status.value,
        "destination": decision.destination,
        "reason": decision.reason,
        "hold_id": decision.hold_id,
        "slip": decision.message(here.code, names),
    }
