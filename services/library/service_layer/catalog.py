"""Branches, titles and copies; manual copy status changes follow the state machine."""

from __future__ import annotations

from sqlmodel import Session

from services.library.adapters.orm import Branch, Copy, Title
from services.library.domain.isbn import normalize_isbn
from services.library.domain.status import MANUAL, CopyStatus, check_transition
from services.library.service_layer import common, scope
from shared.errors import Conflict, Forbidden, Invalid
from shared.identity import Principal


def find_branch(session: Session, code: str) -> Branch | None:
    """A branch as stored, ``None`` when there is none."""
    return session.get(Branch, code)


def find_title(session: Session, isbn: str) -> Title | None:
    """A title as stored (ISBN-10 or -13 given), ``None`` when there is none."""
    return session.get(Title, normalize_isbn(isbn))


def upsert_branch(
    session: Session,
    *,
    code: str,
    name: str,
    institution: str,
    floating: bool = False,
    community: str | None = None,
    address: str | None = None,
) -> Branch:
    """Create or change a branch."""
    row = session.get(Branch, code) or Branch(code=code, name=name, institution=institution)
    row.name, row.institution, row.floating, row.community, row.address = (
        name,
        institution,
        floating,
        community,
        address,
    )
    session.add(row)
    session.flush()
    return row


def upsert_title(
    session: Session, *, isbn: str, title: str, author: str | None = None, publisher: str | None = None
) -> Title:
    """Add or update a title; ``isbn`` may be ISBN-10 or ISBN-13 and is stored as ISBN-13."""
    code = normalize_isbn(isbn)
    row = session.get(Title, code) or Title(isbn=code, title=title)
    row.title, row.author, row.publisher = title, author, publisher
    session.add(row)
    session.flush()
    return row


def add_copy(ctx, session: Session, *, barcode: str, isbn: str, home_branch: str, who: Principal | None = None) -> Copy:
    """A new copy on its home branch's shelf (staff of that branch); 409 for a barcode already used."""
    code = normalize_isbn(isbn)
    common.title(session, code)
    home = common.branch(session, home_branch)
    scope.require_branch(session, who, home.code)
    if session.get(Copy, barcode) is not None:
        raise Conflict(f"条码已存在 / barcode {barcode} already exists", code="barcode_taken")
    row = Copy(barcode=barcode, isbn=code, home_branch=home.code, location=home.code, updated_at=ctx.clock.now())
    session.add(row)
    session.flush()
    return row


def set_status(ctx, session: Session, barcode: str, status: str, who: Principal | None = None) -> Copy:
    """Staff of its home or present branch mark a copy missing, lost, claimed returned, withdrawn or found."""
    try:
        wanted = CopyStatus(status)
    except ValueError:
        raise Invalid(f"未知状态 / unknown status {status}", code="unknown_status") from None
    if wanted not in MANUAL:
        raise Invalid(f"此状态由借还流程设置 / {status} is set by circulation, not by hand", code="not_manual")
    copy = common.copy_for_update(session, barcode)
    if who is not None and not (
        scope.serves_branch(session, who, copy.home_branch) or scope.serves_branch(session, who, copy.location)
    ):
        raise Forbidden(scope.OUT_OF_SCOPE, code="out_of_scope")
    if wanted == CopyStatus.AVAILABLE and copy.location != copy.home_branch:
        raise Conflict(
            "找回的书请在所在馆办理还书 / check a found copy in at the branch that has it", code="found_elsewhere"
        )
    check_transition(copy.status, wanted)
    copy.status, copy.updated_at = wanted, ctx.clock.now()
    session.add(copy)
    return copy
