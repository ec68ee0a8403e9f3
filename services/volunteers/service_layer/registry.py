"""The registry: teams, volunteers, elders and their tiers, pairings (结对), the survey view."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from services.volunteers.adapters.orm import Elder, Pairing, Team, Volunteer
from services.volunteers.domain import planning
from services.volunteers.domain.errors import Conflict, Invalid, NotFound
from services.volunteers.domain.visits import check_skills
from services.volunteers.service_layer import planning as plans
from services.volunteers.service_layer.common import get_elder, get_volunteer, new_id
from shared.events.volunteers import (
    ElderRegistered,
    ElderTierChanged,
    PairingCreated,
    PairingEnded,
    VolunteerJoined,
)


def save_team(
    session: Session, *, team_id: str, name: str, community: str, leader: str | None, staff_contact: str | None
) -> Team:
    """Create or update a team with its leader and the staff member misses escalate to."""
    team = session.get(Team, team_id) or Team(id=team_id, name=name, community=community)
    team.name, team.community, team.leader, team.staff_contact = name, community, leader, staff_contact
    session.add(team)
    session.flush()
    return team


def default_team(session: Session, community: str) -> str | None:
    team = session.exec(select(Team).where(Team.community == community).order_by(Team.id)).first()
    return team.id if team else None


def add_volunteer(
    ctx,
    session: Session,
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
    """Register a volunteer (VolunteerJoined). ``user_id`` is the principal id they sign in with."""
    if user_id and session.exec(select(Volunteer).where(Volunteer.user_id == user_id)).first():
        raise Conflict(f"该账号已是志愿者 / {user_id} is already a volunteer")
    if team_id and session.get(Team, team_id) is None:
        raise NotFound(f"队伍不存在 / no team {team_id}")
    if any(d not in range(7) for d in availability):
        raise Invalid("可服务日为0-6（周一至周日）/ availability lists weekdays 0 (Mon) to 6 (Sun)")
    volunteer = Volunteer(
        id=volunteer_id or new_id("VOL"),
        user_id=user_id,
        name=name,
        phone=phone,
        community=community,
        team_id=team_id or default_team(session, community),
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


def update_volunteer(session: Session, volunteer_id: str, changes: dict) -> Volunteer:
    """Change skills, availability, weekly cap, phone or active flag."""
    volunteer = get_volunteer(session, volunteer_id)
    if "skills" in changes:
        changes["skills"] = check_skills(changes["skills"])
    for key, value in changes.items():
        setattr(volunteer, key, value)
    session.add(volunteer)
    return volunteer


def register_elder(
    ctx,
    session: Session,
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
) -> Elder:
    """Register an elder of the survey (ElderRegistered) and plan their visits from the tier."""
    planning.check_tier(tier)
    if team_id and session.get(Team, team_id) is None:
        raise NotFound(f"队伍不存在 / no team {team_id}")
    if former_volunteer_id:
        get_volunteer(session, former_volunteer_id)
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
        team_id=team_id or default_team(session, community),
        former_volunteer_id=former_volunteer_id,
        registered_at=now,
        rrule="",
        plan_anchor=now,
        planned_until=now,
    )
    plans.start_plan(elder, rrule or planning.DEFAULT_RULES[tier], now)
    session.add(elder)
    session.flush()
    ctx.emit(
        session,
        ElderRegistered(elder_id=elder.id, community=community, building=building, unit=unit, tier=tier),
        subject=elder.id,
    )
    plans.materialise(ctx, session, elder, now)
    return elder


def change_tier(ctx, session: Session, elder_id: str, tier: str, reason: str, now: datetime) -> Elder:
    """Move an elder to another tier (ElderTierChanged) and re-plan visits with the tier's default rule."""
    planning.check_tier(tier)
    elder = get_elder(session, elder_id)
    if elder.tier == tier:
        raise Conflict(f"已是该等级 / elder is already {tier}")
    if not reason.strip():
        raise Invalid("请说明调整原因 / give the reason for the change")
    before = elder.tier
    elder.tier, elder.tier_reason, elder.tier_changed_at = tier, reason, now
    cause = ctx.emit(
        session,
        ElderTierChanged(
            elder_id=elder.id,
            community=elder.community,
            building=elder.building,
            unit=elder.unit,
            from_tier=before,
            to_tier=tier,
        ),
        subject=elder.id,
    )
    plans.replan(ctx, session, elder, planning.DEFAULT_RULES[tier], now, causation=cause)
    return elder


def pair(ctx, session: Session, elder_id: str, volunteer_id: str, now: datetime) -> Pairing:
    """结对: pair an active volunteer with an elder (PairingCreated)."""
    elder = get_elder(session, elder_id)
    volunteer = get_volunteer(session, volunteer_id)
    if not volunteer.active:
        raise Conflict(f"志愿者已退出 / volunteer {volunteer_id} is inactive")
    if elder.former_volunteer_id == volunteer_id:
        raise Conflict("不能与本人结对 / a person cannot visit themself")
    existing = session.exec(
        select(Pairing).where(
            Pairing.elder_id == elder_id, Pairing.volunteer_id == volunteer_id, Pairing.ended_at.is_(None)
        )
    ).first()
    if existing is not None:
        raise Conflict(f"已结对 / already paired ({existing.id})")
    load = weekly_load(session, volunteer_id, now) + planning.visits_per_week(elder.rrule, elder.plan_anchor, now)
    if load > volunteer.weekly_cap + 1e-9:
        raise Conflict(
            f"超过该志愿者每周走访上限 / over {volunteer.name}'s cap of {volunteer.weekly_cap} visits a "
            f"week ({load:.1f} with this elder)"
        )
    pairing = Pairing(id=new_id("P"), elder_id=elder_id, volunteer_id=volunteer_id, started_at=now)
    session.add(pairing)
    session.flush()
    ctx.emit(
        session,
        PairingCreated(
            elder_id=elder.id,
            community=elder.community,
            building=elder.building,
            unit=elder.unit,
            pairing_id=pairing.id,
            volunteer_id=volunteer_id,
            volunteer_user=volunteer.user_id,
        ),
        subject=pairing.id,
    )
    return pairing


def weekly_load(session: Session, volunteer_id: str, now: datetime) -> float:
    """Visits a week a volunteer's current pairings ask for (each elder's plan counted in full)."""
    elders = session.exec(
        select(Elder)
        .join(Pairing, Pairing.elder_id == Elder.id)
        .where(Pairing.volunteer_id == volunteer_id, Pairing.ended_at.is_(None))
    )
    return sum(planning.visits_per_week(e.rrule, e.plan_anchor, now) for e in elders)


def end_pairing(ctx, session: Session, pairing_id: str, reason: str, now: datetime) -> Pairing:
    """End a pairing (PairingEnded); it stays in the elder's history."""
    pairing = session.get(Pairing, pairing_id)
    if pairing is None:
        raise NotFound(f"结对不存在 / no pairing {pairing_id}")
    if pairing.ended_at is not None:
        raise Conflict("结对已结束 / pairing already ended")
    pairing.ended_at, pairing.end_reason = now, reason
    session.add(pairing)
    elder = get_elder(session, pairing.elder_id)
    ctx.emit(
        session,
        PairingEnded(
            elder_id=elder.id,
            community=elder.community,
            building=elder.building,
            unit=elder.unit,
            pairing_id=pairing.id,
            volunteer_id=pairing.volunteer_id,
            reason=reason,
        ),
        subject=pairing.id,
    )
    return pairing


def pause_plan(
    session: Session, elder_id: str, starts_at: datetime, ends_at: datetime, reason: str, actor: str, now: datetime
):
    elder = get_elder(session, elder_id)
    if as_days(ends_at - starts_at) > 366:
        raise Invalid("暂停不得超过一年 / a pause lasts at most a year")
    return plans.pause(session, elder, starts_at, ends_at, reason, actor, now)


def as_days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400


def survey(session: Session, community: str) -> list[dict]:
    """Per building and unit: the elders, their tiers, and who is paired (coverage)."""
    elders = list(
        session.exec(
            select(Elder)
            .where(Elder.community == community)
            .order_by(Elder.building, Elder.unit, Elder.floor, Elder.id)
        )
    )
    paired = {p.elder_id for p in session.exec(select(Pairing).where(Pairing.ended_at.is_(None)))}
    groups: dict[tuple[str, str], dict] = {}
    for elder in elders:
        group = groups.setdefault(
            (elder.building, elder.unit),
            {
                "building": elder.building,
                "unit": elder.unit,
                "elders": [],
                "paired": 0,
                "unpaired": 0,
                "tiers": {t: 0 for t in planning.TIERS},
            },
        )
        is_paired = elder.id in paired
        group["elders"].append(
            {
                "id": elder.id,
                "name": elder.name,
                "floor": elder.floor,
                "tier": elder.tier,
                "lives_alone": elder.lives_alone,
                "paired": is_paired,
            }
        )
        group["paired" if is_paired else "unpaired"] += 1
        group["tiers"][elder.tier] += 1
    return list(groups.values())
