"""Helpers shared by the use cases: lookups, addresses, idempotent inserts, VisitScheduled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Insert, Select, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from services.volunteers.adapters.orm import Elder, Pairing, Team, Volunteer
from shared.db.driver import fetch, flushed, insert_rows
from shared.events.envelope import CloudEvent
from shared.events.volunteers import VisitScheduled

ELDER_MISSING = "老人不存在 / no such elder"
VOLUNTEER_MISSING = "志愿者不存在 / no such volunteer"
VISIT_MISSING = "走访不存在 / no such visit"
TEAM_MISSING = "队伍不存在 / no such team"


def read(session: Session, statement: Select[Any], params: Mapping[str, Any] | None = None) -> Sequence[Any]:
    """The rows of a Core SELECT built once (a module constant or a cached builder), as named tuples of its
    columns: on SQLite through the driver (``shared.db.driver.fetch``), elsewhere through SQLAlchemy.

    Pending ORM changes are flushed first, as ``session.execute`` would (autoflush), so the read sees them.
    """
    return fetch(flushed(session), statement, params)


@cache
def _insert(table: Table) -> Insert:
    return insert(table)


def insert_into(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``table`` on the session's ``connection``: on SQLite
    through the driver, elsewhere by a Core INSERT built once per table. Cheaper than an ORM object and a
    flush; the session does not hold them, so nothing may change them through the ORM in the same unit of
    work, and the caller flushes pending ORM changes first (:func:`pending`) if the order matters."""
    if not insert_rows(connection, table, rows):
        connection.execute(_insert(table), rows)


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


def elder_fields(elder: Elder) -> dict[str, Any]:
    """The fields every elder event starts with (``ElderEvent``): who, and where (community, building, unit)."""
    return {"elder_id": elder.id, "community": elder.community, "building": elder.building, "unit": elder.unit}


def insert_ignore(session: Session, model: Any, values: dict[str, Any]) -> bool:
    """Insert a row unless its primary key exists (``ON CONFLICT DO NOTHING``); True if inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    stmt = insert(table).values(**values).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return session.execute(stmt).first() is not None


def emit_visit_scheduled(
    ctx,
    session: Session,
    elder: Elder,
    visit_id: str,
    due_at: datetime,
    causation: CloudEvent | None,
    *,
    kind: str = "routine",
    campaign_id: str | None = None,
) -> None:
    """VisitScheduled for a visit just inserted (a plan's routine one or a campaign's)."""
    ctx.emit(
        session,
        VisitScheduled(
            **elder_fields(elder),
            visit_id=visit_id,
            due_at=due_at,
            kind=kind,
            campaign_id=campaign_id,
        ),
        subject=visit_id,
        causation=causation,
    )
