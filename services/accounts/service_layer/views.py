"""Read views of the register and of sign-in sessions, narrowed to what the caller may see.

They return plain dicts in the shape of the routes' ``View`` models (``entrypoints/http/schemas.py``),
which FastAPI validates on the way out.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from services.accounts.adapters.orm import Building, Community, Estate, Household, Person, SignInSession, Unit
from services.accounts.service_layer import register
from shared.errors import Forbidden
from shared.identity import Principal
from shared.web.pages import Page, PageQuery, keyset, page_of

Json = dict[str, Any]


def community(row: Community) -> Json:
    return {"code": row.code, "name": row.name, "district": row.district}


def communities(s: Session, who: Principal, page: PageQuery) -> Page[Json]:
    stmt = select(Community)
    served = None if who.has("operator") else who.community_filter()
    if served is not None:
        stmt = stmt.where(Community.code.in_(served))  # type: ignore[attr-defined]
    rows = s.execute(keyset(stmt, [Community.code], page)).scalars().all()
    return page_of(rows, page, key=lambda r: (r.code,), view=community)


def household(s: Session, household_id: str) -> Json:
    found = register.address_of(s, household_id)
    if found is None:
        register.household(s, household_id)  # 404
        raise AssertionError  # pragma: no cover
    return {"id": household_id, **found.__dict__}


def household_for(s: Session, who: Principal, household_id: str) -> Json:
    """A household for staff of its community, or for a resident who lives there."""
    row = register.household(s, household_id)
    if who.has("staff", "operator"):
        register.check_serves(who, row.community)
    elif who.household != household_id:
        raise Forbidden("只能查看自己的住户 / only your own household", code="out_of_scope")
    return household(s, household_id)


_HOUSEHOLDS = (
    select(Household.id, Household.community, Estate.name, Building.name, Unit.name, Household.room)
    .join(Unit, Unit.id == Household.unit_id)
    .join(Building, Building.id == Unit.building_id)
    .join(Estate, Estate.id == Building.estate_id)
)


def households(
    s: Session,
    who: Principal,
    page: PageQuery,
    community: str,
    estate: str | None = None,
    building: str | None = None,
    unit: str | None = None,
) -> Page[Json]:
    """The households of a community, narrowed to an estate, building and unit by name."""
    register.check_serves(who, community)
    stmt = _HOUSEHOLDS.where(Household.community == community)
    if estate is not None:
        stmt = stmt.where(Estate.name == estate)
    if building is not None:
        stmt = stmt.where(Building.name == building)
    if unit is not None:
        stmt = stmt.where(Unit.name == unit)
    rows = s.execute(keyset(stmt, [Household.id], page)).all()
    return page_of(
        rows,
        page,
        key=lambda r: (r[0],),
        view=lambda r: dict(zip(("id", "community", "estate", "building", "unit", "room"), r, strict=True)),
    )


def person(s: Session, row: Person) -> Json:
    return {
        "id": row.id,
        "sub": row.sub,
        "name": row.name,
        "community": row.community,
        "household": household(s, row.household_id) if row.household_id else None,
        "phone_masked": row.phone_masked,
        "roles": [grant(g) for g in register.grants_of(s, row.id)],
        "left_at": row.left_at,
        "erased": row.erased_at is not None,
    }


def grant(g: Any) -> Json:
    return {"id": g.id, "role": g.role, "community": g.community, "team": g.team, "institution": g.institution}


def person_by_id(s: Session, who: Principal, person_id: str) -> Json:
    return person(s, register.person_in_scope(s, who, person_id))


def me(s: Session, who: Principal) -> Json:
    return person(s, register.person_by_sub(s, who.sub))


def people(s: Session, who: Principal, page: PageQuery, community: str, household_id: str | None = None) -> Page[Json]:
    """The people of a community (or one of its households) who have not left or been erased."""
    register.check_serves(who, community)
    stmt = select(Person).where(
        Person.community == community,
        Person.left_at.is_(None),  # type: ignore[union-attr]
    )
    if household_id is not None:
        stmt = stmt.where(Person.household_id == household_id)
    rows = s.execute(keyset(stmt, [Person.id], page)).scalars().all()
    return page_of(rows, page, key=lambda r: (r.id,), view=lambda r: person(s, r))


def session(row: SignInSession) -> Json:
    fields = ("id", "client", "created_at", "last_used_at", "expires_at", "revoked_at", "revoked_reason")
    return {name: getattr(row, name) for name in fields}


def sessions(s: Session, person_id: str, page: PageQuery) -> Page[Json]:
    """A person's sessions, newest first (revoked ones too, so they can see what was stopped)."""
    stmt = select(SignInSession).where(SignInSession.person_id == person_id)
    rows = s.execute(keyset(stmt, [SignInSession.created_at, SignInSession.id], page, descending=True)).scalars().all()
    return page_of(rows, page, key=lambda r: (r.created_at, r.id), view=session)
