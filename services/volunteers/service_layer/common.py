"""Helpers shared by the use cases: ids, lookups, addresses, idempotent inserts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from services.volunteers.adapters.orm import Elder, Pairing, Team, Visit, Volunteer
from services.volunteers.domain.errors import NotFound
from shared.clock import SHANGHAI, as_utc


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def get_elder(session: Session, elder_id: str) -> Elder:
    elder = session.get(Elder, elder_id)
    if elder is None:
        raise NotFound(f"老人不存在 / no elder {elder_id}")
    return elder


def get_volunteer(session: Session, volunteer_id: str) -> Volunteer:
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is None:
        raise NotFound(f"志愿者不存在 / no volunteer {volunteer_id}")
    return volunteer


def get_visit(session: Session, visit_id: str) -> Visit:
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(f"走访不存在 / no visit {visit_id}")
    return visit


def volunteer_of_user(session: Session, user_id: str) -> Volunteer | None:
    return session.exec(select(Volunteer).where(Volunteer.user_id == user_id)).first()


def team_of(session: Session, team_id: str | None) -> Team | None:
    return session.get(Team, team_id) if team_id else None


def active_pairings(session: Session, elder_id: str) -> list[Pairing]:
    return list(
        session.exec(
            select(Pairing).where(Pairing.elder_id == elder_id, Pairing.ended_at.is_(None)).order_by(Pairing.started_at)
        )
    )


def paired_volunteers(session: Session, elder_id: str) -> list[Volunteer]:
    ids = [p.volunteer_id for p in active_pairings(session, elder_id)]
    if not ids:
        return []
    return list(session.exec(select(Volunteer).where(Volunteer.id.in_(ids)).order_by(Volunteer.id)))


def paired_users(session: Session, elder_id: str) -> list[str]:
    """Principal ids of the volunteers currently paired with an elder."""
    return [v.user_id for v in paired_volunteers(session, elder_id) if v.user_id]


def address(elder: Elder) -> str:
    """``际华苑 3号楼 2单元 1层`` (the estate, else the community): where a visit or repair happens."""
    parts = [elder.estate or elder.community, f"{elder.building}号楼", f"{elder.unit}单元"]
    if elder.floor is not None:
        parts.append(f"{elder.floor}层")
    return " ".join(parts)


def shown(value: datetime | None) -> str | None:
    """A stored UTC time as Asia/Shanghai ISO text."""
    return as_utc(value).astimezone(SHANGHAI).isoformat() if value is not None else None


def insert_ignore(session: Session, model, values: dict) -> bool:
    """Insert a row unless its primary key exists (``ON CONFLICT DO NOTHING``); True if inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    stmt = insert(table).values(**values).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return session.execute(stmt).first() is not None
