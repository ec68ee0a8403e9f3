"""The library's access log: who was shown which reader's identity (name and masked card), when and why.

The ID number itself is never stored (only its keyed hash and masked form); a staff member seeing a
reader's card, name and loans is still a read of personal data, so each one is logged (never the
values). A resident reading their own card is not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from services.library.adapters.orm import Reader, access_log
from shared.identity import Principal
from shared.privacy import access_row
from shared.web.pages import Page, PageQuery, keyset, page_of


def log_reader(
    session: Session, who: Principal, reader: Reader, purpose: str, at: datetime, community: str | None = None
) -> None:
    """Record that ``who`` was shown ``reader``'s identity (skipped for the reader themself)."""
    if reader.user is not None and reader.user == who.sub:
        return
    access_log.record(
        session,
        who,
        subject_kind="reader",
        subject_id=reader.id,
        fields=["reader_identity"],
        purpose=purpose,
        at=at,
        community=community,
    )


def access_entries(
    session: Session, who: Principal, page: PageQuery, *, subject_id: str | None = None
) -> Page[dict[str, Any]]:
    """The access log as staff (their communities and their own reads) and operators (all) see it, newest first."""
    stmt = access_log.query(who, subject_kind="reader" if subject_id else None, subject_id=subject_id)
    rows = session.execute(keyset(stmt, [access_log.table.c.id], page, descending=True)).all()
    return page_of(rows, page, key=lambda row: (row.id,), view=access_row)
