"""Venues: rooms of a community with their weekly hours and closures (staff of that community)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session

from services.activities.adapters.orm import Venue, VenueClosure, VenueHours
from services.activities.domain.schedule import Opening, parse_hhmm
from services.activities.service_layer import scope
from shared.db.lookup import get_or_404
from shared.errors import Invalid, NotFound
from shared.identity import Principal
from shared.ids import new_id
from shared.service import ServiceContext

MISSING = "场地不存在 / no such venue"


def venue(session: Session, venue_id: str, *, for_update: bool = False) -> Venue:
    return get_or_404(session, Venue, venue_id, MISSING, for_update=for_update)


def state(session: Session, row: Venue) -> list[Any]:
    """What a room's ETag is made of: its row, its weekly hours and its closures."""
    hours = session.execute(select(VenueHours).where(VenueHours.venue_id == row.id).order_by(VenueHours.id)).scalars()
    closed = session.execute(select(VenueClosure).where(VenueClosure.venue_id == row.id).order_by(VenueClosure.id))
    return [row, *hours, *closed.scalars()]


def managed(session: Session, who: Principal, venue_id: str) -> Venue:
    """A venue of a community the caller serves (others' are not found: their rooms are not ours to see)."""
    found = venue(session, venue_id)
    if not scope.serves_as_staff(who, found.community):
        raise NotFound(MISSING)
    return found


def require_serves(who: Principal, community: str) -> None:
    """403 unless the caller runs ``community`` as staff (a resident's or volunteer's home is not enough)."""
    scope.require_staff(who, community)


def create(ctx: ServiceContext, session: Session, who: Principal, **fields: Any) -> Venue:
    """Add a room to a community the caller serves."""
    require_serves(who, fields["community"])
    _check_ages(fields.get("min_age"), fields.get("max_age"))
    row = Venue(id=fields.pop("id", None) or new_id("R"), created_at=ctx.clock.now(), **fields)
    session.add(row)
    session.flush()
    return row


def update(session: Session, who: Principal, venue_id: str, **fields: Any) -> Venue:
    """Change a room's description, capacity or rules."""
    row = managed(session, who, venue_id)
    _check_ages(fields.get("min_age"), fields.get("max_age"))
    for key, value in fields.items():
        setattr(row, key, value)
    session.add(row)
    return row


def set_hours(session: Session, who: Principal, venue_id: str, rules: list[dict[str, Any]]) -> Venue:
    """Replace the room's weekly opening rules."""
    row = managed(session, who, venue_id)
    for rule in rules:
        if parse_hhmm(rule["opens"]) >= parse_hhmm(rule["closes"]):
            raise Invalid("开放时间应早于关闭时间 / opening must come before closing", code="bad_hours")
    session.execute(delete(VenueHours).where(VenueHours.venue_id == row.id))
    for rule in rules:
        session.add(VenueHours(venue_id=row.id, **rule))
    session.flush()
    return row


def add_closure(session: Session, who: Principal, venue_id: str, day: date, reason: str) -> Venue:
    """Close the room on one day (a holiday, repairs); sessions can no longer be planned then."""
    row = managed(session, who, venue_id)
    exists = session.execute(
        select(VenueClosure.id).where(VenueClosure.venue_id == row.id, VenueClosure.day == day)
    ).first()
    if exists is None:
        session.add(VenueClosure(venue_id=row.id, day=day, reason=reason))
        session.flush()
    return row


def openings(session: Session, venue_id: str) -> list[Opening]:
    rows = session.execute(select(VenueHours).where(VenueHours.venue_id == venue_id)).scalars().all()
    return [Opening(r.weekday, parse_hhmm(r.opens), parse_hhmm(r.closes)) for r in rows]


def closures(session: Session, venue_id: str) -> list[date]:
    return list(session.execute(select(VenueClosure.day).where(VenueClosure.venue_id == venue_id)).scalars())


def _check_ages(min_age: int | None, max_age: int | None) -> None:
    if min_age is not None and max_age is not None and min_age > max_age:
        raise Invalid("最小年龄大于最大年龄 / min_age is above max_age", code="bad_age_range")
