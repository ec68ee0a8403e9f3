"""The registry: teams, volunteers, elders and their tiers, pairings (结对)."""

from __future__ import annotations

from collections import namedtuple
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Update, and_, bindparam, update
from sqlmodel import Session, select

from services.volunteers.adapters.orm import Elder, Pairing, PlanPause, Team, Volunteer
from services.volunteers.domain import planning
from services.volunteers.domain.visits import check_skills
from services.volunteers.service_layer import consent as consents
from services.volunteers.service_layer import planning as plans
from services.volunteers.service_layer import scope
from services.volunteers.service_layer.common import ELDER_MISSING, VOLUNTEER_MISSING, elder_fields, read
from services.volunteers.service_layer.scope import Reach
from shared.db.driver import flushed, write
from shared.db.lookup import get_or_404
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.events.volunteers import (
    ElderRegistered,
    ElderTierChanged,
    PairingCreated,
    PairingEnded,
    VolunteerJoined,
)
from shared.ids import new_id


def team_in_reach(session: Session, r: Reach, team_id: str) -> Team:
    """A team the caller may see, or 404."""
    found = session.exec(select(Team).where(Team.id == team_id, scope.team_clause(r))).first()
    if found is None:
        raise NotFound("服务队不存在 / no such team")
    return found


def team_to_save(session: Session, r: Reach, team_id: str) -> Team | None:
    """The stored team a save would change (``None``: a new one); 403 when it is not the caller's to change."""
    team = session.get(Team, team_id)
    if team is not None and not r.serves(team.community):
        raise Forbidden(scope.OUT_OF_SCOPE, code="out_of_scope")
    return team


def save_team(
    session: Session,
    r: Reach,
    *,
    team_id: str,
    name: str,
    community: str,
    leader: str | None,
    staff_contact: str | None,
) -> Team:
    """Create or update a team with its leader and the staff member misses escalate to.

    Staff only in the communities they serve: both the team's present community and its new one.
    """
    scope.require_community(r, community, leaders=False)
    team = session.get(Team, team_id)
    if team is not None and not r.serves(team.community):
        raise Forbidden(scope.OUT_OF_SCOPE, code="out_of_scope")
    team = team or Team(id=team_id, name=name, community=community)
    team.name, team.community, team.leader, team.staff_contact = name, community, leader, staff_contact
    session.add(team)
    session.flush()
    return team


def add_volunteer(
    ctx,
    session: Session,
    r: Reach,
    *,
    name: str,
    community: str,
    now: datetime,
    user_id: str | None = None,
    phone: str | None = None,
    team_id: str | None = None,
    skills: list[str] = (),
    availability: list[int] = (),
    weekly_cap: int = 3,
    volunteer_id: str | None = None,
) -> Volunteer:
    """Register a volunteer (VolunteerJoined). ``user_id`` is the principal id they sign in with.

    Staff in the communities they serve, a team leader into the team they lead.
    """
    team_id = scope.team_for_new_record(session, r, community, team_id)
    if user_id and session.exec(select(Volunteer).where(Volunteer.user_id == user_id)).first():
        raise Conflict("该账号已是志愿者 / the account is already a volunteer", code="already_volunteer")
    if any(d not in range(7) for d in availability):
        raise Invalid("可服务日为0-6（周一至周日）/ availability lists weekdays 0 (Mon) to 6 (Sun)")
    volunteer = Volunteer(
        id=volunteer_id or new_id("VOL"),
        user_id=user_id,
        name=name,
        phone=phone,
        community=community,
        team_id=team_id,
        skills=check_skills(list(skills)),
        availability=sorted(set(availability)),
        weekly_cap=weekly_cap,
        joined_at=now,
    )
    session.add(volunteer)
    session.flush()
    ctx.emit(
        session,
        VolunteerJoined(volunteer_id=volunteer.id, user_id=user_id, community=community, team_id=volunteer.team_id),
        subject=volunteer.id,
    )
    return volunteer


def update_volunteer(session: Session, r: Reach, volunteer_id: str, changes: dict) -> Volunteer:
    """Change skills, availability, weekly cap, phone or active flag (staff of their community, their leader)
    on the ORM record, for a unit that holds it already (the demo loader); the route uses :func:`change_volunteer`."""
    volunteer = scope.volunteer_in_reach(session, r, volunteer_id, manage=True)
    if "skills" in changes:
        changes["skills"] = check_skills(changes["skills"])
    for key, value in changes.items():
        setattr(volunteer, key, value)
    session.add(volunteer)
    return volunteer


_V = Volunteer.__table__  # type: ignore[attr-defined]
StoredVolunteer = namedtuple("StoredVolunteer", _V.c.keys())  # type: ignore[misc]
"""A volunteer as stored, every column (what :func:`change_volunteer` answers and an ETag is of)."""


@lru_cache(maxsize=32)
def _volunteer_update(columns: tuple[str, ...]) -> Update:
    """The UPDATE of a volunteer's ``columns`` (to the ``new_<column>`` parameters), built once per set of them."""
    values = {c: bindparam(f"new_{c}", type_=_V.c[c].type) for c in columns}
    return update(_V).where(_V.c.id == bindparam("volunteer_id")).values(values)


def change_volunteer(session: Session, volunteer: StoredVolunteer, changes: dict[str, Any]) -> StoredVolunteer:
    """Change skills, availability, weekly cap, phone or active flag of ``volunteer`` (as stored, checked to be
    the caller's to change: :func:`volunteer_to_change`) by one Core UPDATE built once per
    set of columns (through the driver on SQLite, ``shared.db.driver.write``); the volunteer as now stored."""
    if "skills" in changes:
        changes["skills"] = check_skills(changes["skills"])
    if changes:
        connection = flushed(session)  # as a flush would order them: changes made before come first
        columns = tuple(sorted(changes))
        params = {"volunteer_id": volunteer.id} | {f"new_{c}": changes[c] for c in columns}
        write(connection, _volunteer_update(columns), params)
    return volunteer._replace(**changes)


def volunteer_to_change(session: Session, r: Reach, volunteer_id: str) -> tuple[StoredVolunteer, list[Any]]:
    """The volunteer ``r`` may change (404 and 403 as ``scope.volunteer_in_reach``) and the plans of the elders
    paired with them now (:func:`weekly_load`'s), in one SELECT: :data:`_VOLUNTEER_AND_PLANS`."""
    rows = read(session, _VOLUNTEER_AND_PLANS, {"volunteer_id": volunteer_id})
    volunteer = scope.reached_volunteer(r, rows[0] if rows else None, manage=True)
    plans = [(row.rrule, row.plan_anchor) for row in rows if row.plan_elder is not None]
    return StoredVolunteer._make(volunteer[: len(StoredVolunteer._fields)]), plans


def volunteer_record(volunteer: Any) -> Volunteer:
    """A row of the volunteer's columns as their (unsaved, unattached) ORM record: what an ETag is of, the same
    tag as the record read by the ORM (``etags.tag`` hashes the model's fields)."""
    return Volunteer.model_construct(**volunteer._asdict())


def register_elder(
    ctx,
    session: Session,
    r: Reach,
    *,
    now: datetime,
    name: str,
    community: str,
    building: str,
    unit: str,
    tier: str,
    tier_reason: str = "",
    floor: int | None = None,
    lives_alone: bool = False,
    birth_year: int | None = None,
    conditions: str = "",
    notes: str = "",
    emergency_name: str | None = None,
    emergency_phone: str | None = None,
    team_id: str | None = None,
    rrule: str | None = None,
    former_volunteer_id: str | None = None,
    estate: str | None = None,
    elder_id: str | None = None,
    consent: dict | None = None,
) -> Elder:
    """Register an elder of the survey (ElderRegistered) and plan their visits from the tier.

    Health data is kept only with a ``consent`` given at registration (409 ``consent_required``).
    """
    planning.check_tier(tier)
    health = {"conditions": conditions, "notes": notes, "emergency_phone": emergency_phone}
    consents.require(session, None, health, given=consent is not None)
    team_id = scope.team_for_new_record(session, r, community, team_id)
    if former_volunteer_id:
        get_or_404(session, Volunteer, former_volunteer_id, VOLUNTEER_MISSING)
    elder = Elder(
        id=elder_id or new_id("E"),
        name=name,
        community=community,
        estate=estate,
        building=building,
        unit=unit,
        floor=floor,
        lives_alone=lives_alone,
        birth_year=birth_year,
        conditions=conditions,
        notes=notes,
        emergency_name=emergency_name,
        emergency_phone=emergency_phone,
        tier=tier,
        tier_reason=tier_reason,
        tier_changed_at=now,
        team_id=team_id,
        former_volunteer_id=former_volunteer_id,
        registered_at=now,
        rrule="",
        plan_anchor=now,
        planned_until=now,
    )
    plans.start_plan(elder, rrule or planning.DEFAULT_RULES[tier], now)
    session.add(elder)
    session.flush()
    if consent is not None:
        consents.record(session, r, elder, now=now, **consent)
    ctx.emit(
        session,
        ElderRegistered(elder_id=elder.id, community=community, building=building, unit=unit, tier=tier),
        subject=elder.id,
    )
    plans.materialise(ctx, session, elder, now)
    return elder


def change_tier(ctx, session: Session, r: Reach, elder_id: str, tier: str, reason: str, now: datetime) -> Elder:
    """Move an elder to another tier (ElderTierChanged) and re-plan visits with the tier's default rule."""
    planning.check_tier(tier)
    elder = scope.elder_in_reach(session, r, elder_id, manage=True)
    if elder.tier == tier:
        raise Conflict(f"已是该等级 / elder is already {tier}", code="same_tier")
    if not reason.strip():
        raise Invalid("请说明调整原因 / give the reason for the change")
    before = elder.tier
    elder.tier, elder.tier_reason, elder.tier_changed_at = tier, reason, now
    cause = ctx.emit(
        session,
        ElderTierChanged(
            **elder_fields(elder),
            from_tier=before,
            to_tier=tier,
        ),
        subject=elder.id,
    )
    plans.replan(ctx, session, elder, planning.DEFAULT_RULES[tier], now, causation=cause)
    return elder


def pair(ctx, session: Session, r: Reach, elder_id: str, volunteer_id: str, now: datetime) -> Pairing:
    """结对: pair an active volunteer with an elder (PairingCreated).

    Staff pair within the communities they serve; a team leader pairs their own volunteers with
    elders of the communities their teams serve (never another community's elder).
    """
    elder = get_or_404(session, Elder, elder_id, ELDER_MISSING)
    if not (scope.manages_elder(r, elder) or elder.community in r.team_communities):
        raise NotFound(ELDER_MISSING)
    volunteer = scope.volunteer_in_reach(session, r, volunteer_id, manage=True)
    if not r.serves(elder.community) and not r.leads(volunteer.team_id):
        raise Forbidden("只能为本队志愿者结对 / pair your own team's volunteers", code="out_of_scope")
    if not volunteer.active:
        raise Conflict("志愿者已退出 / the volunteer is inactive", code="volunteer_inactive")
    if elder.former_volunteer_id == volunteer_id:
        raise Conflict("不能与本人结对 / a person cannot visit themself", code="self_pairing")
    existing = session.exec(
        select(Pairing).where(
            Pairing.elder_id == elder_id, Pairing.volunteer_id == volunteer_id, Pairing.ended_at.is_(None)
        )
    ).first()
    if existing is not None:
        raise Conflict(f"已结对 / already paired ({existing.id})", code="already_paired")
    load = weekly_load(session, volunteer_id, now) + planning.visits_per_week(elder.rrule, elder.plan_anchor, now)
    if load > volunteer.weekly_cap + 1e-9:
        raise Conflict(
            f"超过该志愿者每周走访上限 / over {volunteer.name}'s cap of {volunteer.weekly_cap} visits a "
            f"week ({load:.1f} with this elder)",
            code="weekly_cap",
        )
    pairing = Pairing(id=new_id("P"), elder_id=elder_id, volunteer_id=volunteer_id, started_at=now)
    session.add(pairing)
    session.flush()
    ctx.emit(
        session,
        PairingCreated(
            **elder_fields(elder),
            pairing_id=pairing.id,
            volunteer_id=volunteer_id,
            volunteer_user=volunteer.user_id,
        ),
        subject=pairing.id,
    )
    return pairing


def weekly_load(session: Session, volunteer_id: str, now: datetime, plans: list[Any] | None = None) -> float:
    """Visits a week a volunteer's current pairings ask for (each elder's plan counted in full); ``plans``: their
    (rule, anchor) pairs if already read (:func:`volunteer_to_change`)."""
    if plans is None:
        plans = list(read(session, _PAIRED_PLANS, {"volunteer_id": volunteer_id}))
    return sum(planning.visits_per_week(rule, anchor, now) for rule, anchor in plans)


_E, _P = Elder.__table__, Pairing.__table__  # type: ignore[attr-defined]
_PAIRED_PLANS = (
    select(_E.c.rrule, _E.c.plan_anchor)
    .join(_P, _P.c.elder_id == _E.c.id)
    .where(_P.c.volunteer_id == bindparam("volunteer_id"), _P.c.ended_at.is_(None))
)
"""The plans of a volunteer's paired elders: two columns (not whole elders), built once, read through the
driver on SQLite (after the session's pending changes, as ``session.execute`` would)."""
_VOLUNTEER_AND_PLANS = (
    select(*_V.c, _E.c.id.label("plan_elder"), _E.c.rrule, _E.c.plan_anchor)
    .select_from(
        _V.outerjoin(_P, and_(_P.c.volunteer_id == _V.c.id, _P.c.ended_at.is_(None))).outerjoin(
            _E, _E.c.id == _P.c.elder_id
        )
    )
    .where(_V.c.id == bindparam("volunteer_id"))
)
"""A volunteer's stored columns (first, in :class:`StoredVolunteer`'s order) with :data:`_PAIRED_PLANS`, one row
per paired elder (one with no elder if none): what a change of the volunteer reads, in one statement."""


def end_pairing(ctx, session: Session, r: Reach, pairing_id: str, reason: str, now: datetime) -> Pairing:
    """End a pairing (PairingEnded); it stays in the elder's history."""
    missing = "结对不存在 / no such pairing"
    pairing = get_or_404(session, Pairing, pairing_id, missing)
    elder = get_or_404(session, Elder, pairing.elder_id, ELDER_MISSING)
    if not scope.sees_elder(r, elder):
        raise NotFound(missing)
    if not scope.manages_elder(r, elder):
        raise Forbidden(scope.OUT_OF_SCOPE, code="out_of_scope")
    if pairing.ended_at is not None:
        raise Conflict("结对已结束 / pairing already ended", code="pairing_ended")
    pairing.ended_at, pairing.end_reason = now, reason
    session.add(pairing)
    ctx.emit(
        session,
        PairingEnded(
            **elder_fields(elder),
            pairing_id=pairing.id,
            volunteer_id=pairing.volunteer_id,
            reason=reason,
        ),
        subject=pairing.id,
    )
    return pairing


def elder_rows(session: Session, r: Reach, elder_id: str, *, manage: bool = False) -> list[Elder | PlanPause]:
    """What an elder's ETag is made of: her row and her plan's pauses (404 outside ``r``'s reach; with
    ``manage``, 403 for one who may see but not change her)."""
    elder = scope.elder_in_reach(session, r, elder_id, manage=manage)
    pauses = session.exec(select(PlanPause).where(PlanPause.elder_id == elder.id).order_by(PlanPause.id)).all()
    return [elder, *pauses]


ELDER_BOOKKEEPING = frozenset({"planned_until"})
"""Columns the planning job moves on its own: not part of an elder's state for ``If-Match``."""


def set_plan(ctx, session: Session, r: Reach, elder_id: str, rule: str, now: datetime) -> Elder:
    """Replace an elder's visit plan with an RRULE (at least quarterly)."""
    elder = scope.elder_in_reach(session, r, elder_id, manage=True)
    plans.replan(ctx, session, elder, rule, now)
    return elder


def pause_plan(
    session: Session, r: Reach, elder_id: str, starts_at: datetime, ends_at: datetime, reason: str, now: datetime
) -> Elder:
    """Pause an elder's plan for at most a year; returns the elder."""
    elder = scope.elder_in_reach(session, r, elder_id, manage=True)
    actor = r.who.sub
    if as_days(ends_at - starts_at) > 366:
        raise Invalid("暂停不得超过一年 / a pause lasts at most a year", code="pause_too_long")
    plans.pause(session, elder, starts_at, ends_at, reason, actor, now)
    return elder


def as_days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400
