"""The register: places (community → estate → building → unit → household), people, moves, leaving,
role grants and erasure. Each change of a person is an event through the outbox.

Staff reach the communities they serve (``principal.serves``); operators and city-wide staff reach
every one. Creating communities and granting ``operator`` or ``partner`` are for operators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import bindparam, delete, select, update
from sqlmodel import Session

from services.accounts.adapters.orm import (
    Building,
    Community,
    Estate,
    Household,
    Person,
    RoleGrant,
    SignInSession,
    Unit,
)
from services.accounts.adapters.sealing import seal
from services.accounts.domain import phones
from services.accounts.domain.claims import GRANTABLE, SCOPE_OF, Grant, scope_key
from services.accounts.service_layer import erasure
from shared.db.lookup import get_or_404
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.events.accounts import HouseholdMoved, PersonRegistered, ResidentErased, RoleGranted, RoleRevoked
from shared.identity import EVERY_COMMUNITY, Principal
from shared.ids import new_id
from shared.pii import keyed_hash, mask_phone
from shared.service import ServiceContext

PHONE_PURPOSE = "phone"
T = TypeVar("T")


def phone_hash(phone: str) -> str:
    return keyed_hash(f"phone:{phone}")


def check_serves(who: Principal, community: str | None) -> None:
    if not (who.has("operator") or who.serves(community)):
        raise Forbidden("不在您负责的社区 / outside the communities you serve", code="out_of_scope")


# -- places -----------------------------------------------------------------------------------------


def add_community(
    ctx: ServiceContext, s: Session, who: Principal, code: str, name: str, district: str | None
) -> Community:
    if not (who.has("operator") or who.city_wide):
        raise Forbidden("只有运维或区级人员可以新建社区 / only operators or city-wide staff add communities")
    found = s.get(Community, code)
    if found is not None:
        found.name, found.district = name, district
        return found
    row = Community(code=code, name=name, district=district, created_at=ctx.clock.now())
    s.add(row)
    s.flush()
    return row


def community_row(s: Session, code: str) -> Community:
    return get_or_404(s, Community, code, "社区不存在 / no such community")


@dataclass(frozen=True)
class Address:
    community: str
    estate: str
    building: str
    unit: str
    room: str


def place(ctx: ServiceContext, s: Session, who: Principal, address: Address, *, create: bool = True) -> Household:
    """The household at ``address``, created with every missing level when ``create`` (idempotent)."""
    check_serves(who, address.community)
    community_row(s, address.community)
    estate = s.scalars(
        select(Estate).where(Estate.community == address.community, Estate.name == address.estate)
    ).first()
    if estate is None:
        estate = _new(s, create, Estate(id=new_id("E"), community=address.community, name=address.estate))
    building = s.scalars(
        select(Building).where(Building.estate_id == estate.id, Building.name == address.building)
    ).first()
    if building is None:
        building = _new(
            s, create, Building(id=new_id("B"), estate_id=estate.id, community=address.community, name=address.building)
        )
    unit = s.scalars(select(Unit).where(Unit.building_id == building.id, Unit.name == address.unit)).first()
    if unit is None:
        unit = _new(s, create, Unit(id=new_id("U"), building_id=building.id, name=address.unit))
    household = s.scalars(select(Household).where(Household.unit_id == unit.id, Household.room == address.room)).first()
    if household is None:
        household = _new(
            s,
            create,
            Household(
                id=new_id("H"),
                unit_id=unit.id,
                community=address.community,
                room=address.room,
                created_at=ctx.clock.now(),
            ),
        )
    return household


def _new(s: Session, create: bool, row: T) -> T:
    if not create:
        raise NotFound("住户不存在 / no such household")
    s.add(row)
    s.flush()
    return row


def household(s: Session, household_id: str) -> Household:
    return get_or_404(s, Household, household_id, "住户不存在 / no such household")


def address_of(s: Session, household_id: str | None) -> Address | None:
    """Every level of a household's address, by name (what events and views carry)."""
    if household_id is None:
        return None
    row = s.execute(
        select(Household.community, Estate.name, Building.name, Unit.name, Household.room)
        .join(Unit, Unit.id == Household.unit_id)
        .join(Building, Building.id == Unit.building_id)
        .join(Estate, Estate.id == Building.estate_id)
        .where(Household.id == household_id)
    ).first()
    return Address(*row) if row is not None else None


def _whereabouts(s: Session, household_id: str | None) -> dict[str, str | None]:
    found = address_of(s, household_id)
    if found is None:
        return {"household_id": None, "community": None, "estate": None, "building": None, "unit": None}
    return {
        "household_id": household_id,
        "community": found.community,
        "estate": found.estate,
        "building": found.building,
        "unit": found.unit,
    }


# -- people -----------------------------------------------------------------------------------------


def person(s: Session, person_id: str, *, for_update: bool = False) -> Person:
    found = get_or_404(s, Person, person_id, "人员不存在 / no such person", for_update=for_update)
    if found.erased_at is not None:
        raise NotFound("人员不存在 / no such person")
    return found


def person_in_scope(s: Session, who: Principal, person_id: str, *, for_update: bool = False) -> Person:
    found = person(s, person_id, for_update=for_update)
    check_serves(who, found.community)
    return found


def person_by_sub(s: Session, sub: str) -> Person:
    found = s.scalars(select(Person).where(Person.sub == sub, Person.erased_at.is_(None))).first()  # type: ignore[union-attr]
    if found is None:
        raise NotFound("账号不在名册中 / this account is not in the register", code="not_registered")
    return found


def register(
    ctx: ServiceContext,
    s: Session,
    who: Principal,
    *,
    name: str,
    phone: str | None = None,
    household_id: str | None = None,
    community: str | None = None,
    sub: str | None = None,
) -> Person:
    """Add a person with their household (or only a community, for staff and volunteers without a home here)."""
    home = household(s, household_id) if household_id else None
    where = home.community if home is not None else community
    if where is None:
        raise Invalid("需要住户或社区 / a household or a community is needed", code="no_community")
    check_serves(who, where)
    if home is None:
        community_row(s, where)
    if sub and not who.has("operator"):
        # other services key records by sub: naming one is taking over whatever they hold for it
        raise Forbidden("只有运维可以指定账号标识 / only operators choose a sub", code="operators_only")
    person_id = new_id("P")
    sub = sub or f"person:{person_id}"
    if s.scalars(select(Person.id).where(Person.sub == sub)).first() is not None:
        raise Conflict("账号标识已被使用 / this sub is taken", code="sub_taken")
    row = Person(
        id=person_id, sub=sub, name=name, household_id=household_id, community=where, created_at=ctx.clock.now()
    )
    if phone is not None:
        set_phone(s, row, phone)
    s.add(row)
    s.flush()
    ctx.emit(
        s,
        PersonRegistered(
            person_id=row.id, sub=row.sub, name=row.name, registered_at=row.created_at, **_whereabouts(s, household_id)
        ),
        subject=row.id,
    )
    return row


def set_phone(s: Session, row: Person, phone: str) -> None:
    try:
        number = phones.normalise(phone)
    except phones.InvalidPhone as exc:
        raise Invalid(str(exc), code="bad_phone") from None
    digest = phone_hash(number)
    taken = s.scalars(select(Person.id).where(Person.phone_hash == digest, Person.id != row.id)).first()
    if taken is not None:
        raise Conflict("该手机号已登记 / this phone is registered to someone else", code="phone_taken")
    row.phone_hash, row.phone_masked, row.phone_sealed = digest, mask_phone(number), seal(number, PHONE_PURPOSE)


def link_oidc(s: Session, row: Person, subject: str) -> None:
    """Link ``row`` to ``<issuer>|<subject>`` at the configured OpenID Connect provider."""
    from services.accounts.config import accounts_settings

    issuer = accounts_settings().oidc_issuer
    if not issuer:
        raise NotFound("未配置统一身份认证 / no OpenID Connect provider is configured", code="oidc_not_configured")
    linked = f"{issuer}|{subject}"
    taken = s.scalars(select(Person.id).where(Person.oidc_subject == linked, Person.id != row.id)).first()
    if taken is not None:
        raise Conflict("该身份已关联他人 / this identity is linked to someone else", code="oidc_taken")
    row.oidc_subject = linked


def move(ctx: ServiceContext, s: Session, who: Principal, person_id: str, household_id: str) -> Person:
    """Move a person to another household (staff of both communities, or city-wide)."""
    row = person_in_scope(s, who, person_id, for_update=True)
    home = household(s, household_id)
    check_serves(who, home.community)
    if row.household_id == household_id:
        return row
    before = row.household_id
    row.household_id, row.community, row.left_at = household_id, home.community, None
    _moved(ctx, s, row, before)
    return row


def leave(ctx: ServiceContext, s: Session, who: Principal, person_id: str) -> Person:
    """A person leaves the register (moved away): no household, sessions revoked; the record stays."""
    row = person_in_scope(s, who, person_id, for_update=True)
    if row.left_at is not None:
        return row
    before = row.household_id
    row.household_id, row.left_at = None, ctx.clock.now()
    revoke_sessions(s, row.id, ctx.clock.now(), "left")
    _moved(ctx, s, row, before)
    return row


def _moved(ctx: ServiceContext, s: Session, row: Person, before: str | None) -> None:
    s.flush()
    ctx.emit(
        s,
        HouseholdMoved(
            person_id=row.id,
            sub=row.sub,
            from_household_id=before,
            moved_at=ctx.clock.now(),
            **_whereabouts(s, row.household_id),
        ),
        subject=row.id,
    )


def revoke_sessions(s: Session, person_id: str, now: datetime, reason: str) -> None:
    s.execute(
        update(SignInSession)
        .where(SignInSession.person_id == person_id, SignInSession.revoked_at.is_(None))  # type: ignore[union-attr]
        .values(revoked_at=now, revoked_reason=reason)
    )


# -- roles ------------------------------------------------------------------------------------------


def grant(ctx: ServiceContext, s: Session, who: Principal, person_id: str, wanted: Grant) -> RoleGrant:
    """Give a role with its scope; granting it again changes nothing."""
    row = person_in_scope(s, who, person_id)
    _check_grant(who, wanted)
    key = scope_key(wanted)
    found = s.scalars(
        select(RoleGrant).where(RoleGrant.person_id == row.id, RoleGrant.role == wanted.role, RoleGrant.scope == key)
    ).first()
    if found is not None:
        return found
    given = RoleGrant(
        id=new_id("G"),
        person_id=row.id,
        role=wanted.role,
        scope=key,
        community=wanted.community,
        team=wanted.team,
        institution=wanted.institution,
        granted_at=ctx.clock.now(),
    )
    s.add(given)
    s.flush()
    ctx.emit(s, RoleGranted(**_role_fields(row, given), granted_at=given.granted_at), subject=row.id)
    return given


def _check_grant(who: Principal, wanted: Grant) -> None:
    if wanted.role not in GRANTABLE:
        raise Invalid(f"不能授予的角色 / roles granted here: {', '.join(GRANTABLE)}", code="bad_role")
    needs = SCOPE_OF[wanted.role]
    if needs == "community" and not wanted.community:
        raise Invalid("该角色需要社区 / this role needs a community", code="scope_missing")
    if needs == "team" and not (wanted.team and wanted.community):
        raise Invalid("队长需要团队和社区 / a team leader needs a team and its community", code="scope_missing")
    if needs == "institution" and not wanted.institution:
        raise Invalid("合作方需要机构代码 / a partner needs an institution", code="scope_missing")
    if wanted.role in ("operator", "partner") or wanted.community == EVERY_COMMUNITY:
        if not who.has("operator"):
            raise Forbidden("只有运维可以授予 / only operators grant this", code="operators_only")
    elif wanted.community is not None:
        check_serves(who, wanted.community)


def revoke(ctx: ServiceContext, s: Session, who: Principal, person_id: str, grant_id: str) -> Person:
    row = person_in_scope(s, who, person_id)
    given = s.get(RoleGrant, grant_id)
    if given is None or given.person_id != row.id:
        raise NotFound("授权不存在 / no such role grant")
    _check_grant(who, Grant(given.role, given.community, given.team, given.institution))
    s.delete(given)
    s.flush()
    ctx.emit(s, RoleRevoked(**_role_fields(row, given), revoked_at=ctx.clock.now()), subject=row.id)
    return row


def _role_fields(row: Person, given: RoleGrant) -> dict[str, str | None]:
    return {
        "person_id": row.id,
        "sub": row.sub,
        "role": given.role,
        "community": given.community,
        "team": given.team,
        "institution": given.institution,
    }


_GRANTS_OF = select(RoleGrant).where(RoleGrant.person_id == bindparam("person_id")).order_by(RoleGrant.id)
"""A person's grants (built once: every sign-in and refresh puts them in the token)."""


def grants_of(s: Session, person_id: str) -> list[RoleGrant]:
    return list(s.scalars(_GRANTS_OF, {"person_id": person_id}))


# -- erasure ----------------------------------------------------------------------------------------


def erase(ctx: ServiceContext, s: Session, who: Principal, person_id: str) -> Person:
    """Erase a person's personal data (name, phone, home, roles, sessions); ``sub`` stays, never reused.

    Consumers erasing their own copies follow ResidentErased; accounts' earlier events of the person are
    redacted here in the outbox and deleted from the stream by ``erasure.scrub_stream``.
    """
    row = person_in_scope(s, who, person_id, for_update=True)
    now = ctx.clock.now()
    row.name = "已删除 / erased"
    row.phone_hash = row.phone_masked = row.phone_sealed = None
    row.household_id, row.left_at, row.erased_at = None, row.left_at or now, now
    s.execute(delete(RoleGrant).where(RoleGrant.person_id == row.id))  # type: ignore[arg-type]
    revoke_sessions(s, row.id, now, "erased")
    s.flush()
    erasure.redact_outbox(s, row.id)
    ctx.emit(s, ResidentErased(person_id=row.id, sub=row.sub, erased_at=now), subject=row.id)
    return row
