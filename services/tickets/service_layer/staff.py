"""The duty roster: who is in each category pool, who is on duty, and round-robin choice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import nulls_first
from sqlmodel import Session, col, select

from services.tickets.adapters.orm import Category, StaffDuty
from shared.errors import NotFound


def pool_of(category: Category) -> str:
    return category.pool or category.code


BOOKKEEPING = frozenset({"last_assigned_at"})
"""Moved by every round-robin assignment: not an edit of the roster entry for ``If-Match``."""


def find(session: Session, pool: str, staff_id: str) -> StaffDuty | None:
    """A roster entry as stored, ``None`` when there is none."""
    return session.get(StaffDuty, (pool, staff_id))


def get(session: Session, pool: str, staff_id: str) -> StaffDuty:
    """A roster entry, or 404."""
    row = find(session, pool, staff_id)
    if row is None:
        raise NotFound("值班表中没有此人 / no such roster entry")
    return row


def upsert(session: Session, pool: str, staff_id: str, display_name: str, on_duty: bool) -> StaffDuty:
    """Add someone to a pool or change their duty."""
    row = session.get(StaffDuty, (pool, staff_id)) or StaffDuty(pool=pool, staff_id=staff_id)
    row.display_name = display_name
    row.on_duty = on_duty
    session.add(row)
    return row


def roster(session: Session, pool: str | None = None) -> list[StaffDuty]:
    query = select(StaffDuty)
    if pool:
        query = query.where(StaffDuty.pool == pool)
    return list(session.exec(query.order_by(col(StaffDuty.pool), col(StaffDuty.staff_id))).all())


def next_on_duty(session: Session, category: Category, now: datetime) -> StaffDuty | None:
    """Round-robin: the on-duty member of the category's pool who was assigned least recently."""
    query = (
        select(StaffDuty)
        .where(StaffDuty.pool == pool_of(category), StaffDuty.on_duty == True)  # noqa: E712
        .order_by(nulls_first(col(StaffDuty.last_assigned_at)), col(StaffDuty.staff_id))
        .with_for_update()
    )
    chosen = session.exec(query).first()
    if chosen is not None:
        chosen.last_assigned_at = now
        session.add(chosen)
    return chosen
