"""A reader's own library data (``GET /api/library/me/export``): the card (masked number), loans, holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from services.library.adapters.orm import Hold, Loan, Reader
from shared.web.export import document, rows


def export(session: Session, sub: str, now: datetime) -> dict[str, Any]:
    reader = session.scalars(select(Reader).where(Reader.user == sub)).first()
    records: dict[str, list[dict[str, Any]]] = {"reader": [], "loans": [], "holds": []}
    if reader is not None:
        records["reader"] = rows([reader], without=("id_hash", "qr_hash"))
        records["loans"] = rows(
            session.scalars(select(Loan).where(Loan.reader_id == reader.id).order_by(Loan.checked_out_at))
        )
        records["holds"] = rows(
            session.scalars(select(Hold).where(Hold.reader_id == reader.id).order_by(Hold.placed_at))
        )
    return document("library", sub, now, records)
