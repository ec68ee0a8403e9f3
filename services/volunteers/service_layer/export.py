"""A volunteer's own data (``GET /api/volunteers/me/export``): their record, hours, the visits they logged.

Visit logs are shown without notes and checklist: those describe the elder (her health, her home),
which is hers, not the volunteer's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from services.volunteers.adapters.orm import Pairing, TimeBankEntry, VisitLog, Volunteer
from shared.web.export import document, rows


def export(session: Session, sub: str, now: datetime) -> dict[str, Any]:
    found = session.scalars(select(Volunteer).where(Volunteer.user_id == sub)).first()  # type: ignore[arg-type]
    records: dict[str, list[dict[str, Any]]] = {"volunteer": [], "pairings": [], "time_bank": [], "visit_logs": []}
    if found is not None:
        records["volunteer"] = rows([found])
        records["pairings"] = rows(session.scalars(select(Pairing).where(Pairing.volunteer_id == found.id)))
        records["time_bank"] = rows(
            session.scalars(select(TimeBankEntry).where(TimeBankEntry.volunteer_id == found.id))
        )
        records["visit_logs"] = rows(
            session.scalars(select(VisitLog).where(VisitLog.volunteer_id == found.id).order_by(VisitLog.visited_at)),
            without=("notes", "checklist"),
        )
    return document("volunteers", sub, now, records)
