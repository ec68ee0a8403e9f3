"""A resident's own activities data (``GET /api/activities/me/export``): sign-ups, repair and room bookings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from services.activities.adapters.orm import RepairBooking, RoomBooking, Signup
from shared.web.export import document, rows


def export(session: Session, sub: str, now: datetime) -> dict[str, Any]:
    records = {
        "signups": rows(session.scalars(select(Signup).where(Signup.user == sub).order_by(Signup.created_at))),  # type: ignore[arg-type]
        "repair_bookings": rows(session.scalars(select(RepairBooking).where(RepairBooking.user == sub))),  # type: ignore[arg-type]
        "room_bookings": rows(session.scalars(select(RoomBooking).where(RoomBooking.user == sub))),  # type: ignore[arg-type]
    }
    return document("activities", sub, now, records)
