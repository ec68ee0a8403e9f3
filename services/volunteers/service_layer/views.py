"""What the API shows: elders (health data only to those allowed), volunteers (phones masked), visits.

Read views only: each function loads and shapes rows for a response; none of them writes. Lists
are cursor pages (``shared.web.pages``) in a stable order by a unique key.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from services.volunteers.adapters.orm import (
    Campaign,
    Elder,
    Hazard,
    LogRevision,
    Pairing,
    PlanPause,
    Team,
    TimeBankEntry,
    Visit,
    VisitLog,
    Volunteer,
)
from services.volunteers.domain import planning
from services.volunteers.domain.planning import grace_for
from services.volunteers.domain.visits import may_see_health
from services.volunteers.service_layer.common import (
    ELDER_MISSING,
    VISIT_MISSING,
    VOLUNTEER_MISSING,
    address,
    paired_users,
    team_of,
)
from services.volunteers.service_layer.registry import weekly_load
from services.volunteers.service_layer.visits import balance, is_team_leader
from shared.clock import as_utc, shown
from shared.db.lookup import get_or_404
from shared.errors import Forbidden
from shared.pii import mask_phone
from shared.web.auth import Principal
from shared.web.pages import Page, PageQuery, keyset, page_in_memory, page_of

Row = dict[str, Any]


def can_see_health(session: Session, actor: Principal, elder: Elder) -> bool:
    team = team_of(session, elder.team_id)
    return may_see_health(
        actor.sub,
        actor.roles,
        team_leader=team.leader if team else None,
        paired_users=set(paired_users(session, elder.id)),
    )


def may_see_contact(session: Session, actor: Principal, volunteer: Volunteer) -> bool:
    """The volunteer themself, their team leader and staff see the full phone and the time bank."""
    return actor.has("staff") or actor.sub == volunteer.user_id or is_team_leader(session, actor, volunteer.team_id)


# -- teams and volunteers ------------------------------------------------------------------------
def team_view(team: Team) -> Row:
    return {
        "id": team.id,
        "name": team.name,
        "community": team.community,
        "leader": team.leader,
        "staff_contact": team.staff_contact,
    }


def teams(session: Session, page: PageQuery) -> Page[Row]:
    rows = session.exec(keyset(select(Team), [Team.id], page)).all()
    return page_of(rows, page, key=lambda t: (t.id,), view=team_view)


def volunteer_view(volunteer: Volunteer, *, full_phone: bool = False) -> Row:
    """A volunteer; the phone masked unless ``full_phone`` (their team leader and staff)."""
    phone = volunteer.phone if full_phone else (mask_phone(volunteer.phone) if volunteer.phone else None)
    return {
        "id": volunteer.id,
        "user_id": volunteer.user_id,
        "name": volunteer.name,
        "phone": phone,
        "community": volunteer.community,
        "team_id": volunteer.team_id,
        "skills": volunteer.skills,
        "availability": volunteer.availability,
        "weekly_cap": volunteer.weekly_cap,
        "active": volunteer.active,
    }


def volunteers(session: Session, page: PageQuery, community: str | None = None) -> Page[Row]:
    """Volunteers with masked phones, by id."""
    query = select(Volunteer)
    if community:
        query = query.where(Volunteer.community == community)
    rows = session.exec(keyset(query, [Volunteer.id], page)).all()
    return page_of(rows, page, key=lambda v: (v.id,), view=volunteer_view)


def volunteer_detail(session: Session, actor: Principal, volunteer_id: str, now: datetime) -> Row:
    """A volunteer with their weekly load; the full phone only for themself, their team leader and staff."""
    volunteer = get_or_404(session, Volunteer, volunteer_id, VOLUNTEER_MISSING)
    return volunteer_changed(session, volunteer, now, full_phone=may_see_contact(session, actor, volunteer))


def volunteer_changed(session: Session, volunteer: Volunteer, now: datetime, *, full_phone: bool = True) -> Row:
    return volunteer_view(volunteer, full_phone=full_phone) | {
        "weekly_load": round(weekly_load(session, volunteer.id, now), 2)
    }


def timebank(session: Session, actor: Principal, volunteer_id: str) -> Row:
    """The time-bank balance and entries: for the volunteer themself, their team leader and staff."""
    volunteer = get_or_404(session, Volunteer, volunteer_id, VOLUNTEER_MISSING)
    if not may_see_contact(session, actor, volunteer):
        raise Forbidden("只能查看本人的时间银行 / you can only see your own time bank")
    entries = session.exec(
        select(TimeBankEntry).where(TimeBankEntry.volunteer_id == volunteer_id).order_by(TimeBankEntry.id)
    )
    return {
        "volunteer_id": volunteer_id,
        "balance_hours": balance(session, volunteer_id),
        "entries": [
            {"hours": e.hours, "kind": e.kind, "log_id": e.log_id, "at": shown(e.at), "actor": e.actor} for e in entries
        ],
    }


# -- elders --------------------------------------------------------------------------------------
def elder_summary(elder: Elder) -> Row:
    return {
        "id": elder.id,
        "name": elder.name,
        "community": elder.community,
        "estate": elder.estate,
        "building": elder.building,
        "unit": elder.unit,
        "floor": elder.floor,
        "tier": elder.tier,
        "lives_alone": elder.lives_alone,
        "team_id": elder.team_id,
    }


def elders(
    session: Session,
    page: PageQuery,
    *,
    community: str | None = None,
    building: str | None = None,
    tier: str | None = None,
) -> Page[Row]:
    """Elders without health data, by community, building, unit and id."""
    query = select(Elder)
    for column, value in ((Elder.community, community), (Elder.building, building), (Elder.tier, tier)):
        if value:
            query = query.where(column == value)
    key = [Elder.community, Elder.building, Elder.unit, Elder.id]
    rows = session.exec(keyset(query, key, page)).all()
    return page_of(rows, page, key=lambda e: (e.community, e.building, e.unit, e.id), view=elder_summary)


def elder(session: Session, actor: Principal, elder_id: str, now: datetime) -> Row:
    return elder_view(session, actor, get_or_404(session, Elder, elder_id, ELDER_MISSING), now)


def elder_view(session: Session, actor: Principal, elder: Elder, now: datetime) -> Row:
    """An elder's record; conditions, notes and the emergency phone only for those allowed."""
    show = can_see_health(session, actor, elder)
    upcoming = session.exec(
        select(Visit)
        .where(Visit.elder_id == elder.id, Visit.status == "scheduled", Visit.due_at >= now)
        .order_by(Visit.due_at, Visit.id)
        .limit(5)
    )
    pauses = session.exec(
        select(PlanPause).where(PlanPause.elder_id == elder.id, PlanPause.ends_at > now).order_by(PlanPause.id)
    )
    data = elder_summary(elder) | {
        "address": address(elder),
        "birth_year": elder.birth_year,
        "tier_reason": elder.tier_reason,
        "tier_changed_at": shown(elder.tier_changed_at),
        "former_volunteer_id": elder.former_volunteer_id,
        "plan": {
            "rrule": elder.rrule,
            "starts": shown(elder.plan_anchor),
            "grace_hours": grace_for(elder.tier).total_seconds() / 3600,
        },
        "pauses": [{"starts_at": shown(p.starts_at), "ends_at": shown(p.ends_at), "reason": p.reason} for p in pauses],
        "upcoming_visits": [{"id": v.id, "kind": v.kind, "due_at": shown(v.due_at)} for v in upcoming],
        "volunteers": [
            {"id": v.id, "name": v.name, "pairing_id": p.id}
            for p, v in session.exec(
                select(Pairing, Volunteer)
                .join(Volunteer, Volunteer.id == Pairing.volunteer_id)
                .where(Pairing.elder_id == elder.id, Pairing.ended_at.is_(None))
                .order_by(Pairing.started_at, Pairing.id)
            )
        ],
        "health_visible": show,
        "emergency_contact": {
            "name": elder.emergency_name,
            "phone": (elder.emergency_phone if show else mask_phone(elder.emergency_phone))
            if elder.emergency_phone
            else None,
        },
    }
    if elder.former_volunteer_id:  # the served who once served: the hours she gave
        data["former_volunteer_hours"] = balance(session, elder.former_volunteer_id)
    if show:
        data["conditions"] = elder.conditions
        data["notes"] = elder.notes
    return data


def health(session: Session, actor: Principal, elder_id: str) -> Row:
    """Health data: refused unless the caller is paired with the elder, leads their team, or is staff."""
    elder = get_or_404(session, Elder, elder_id, ELDER_MISSING)
    if not can_see_health(session, actor, elder):
        raise Forbidden(
            "健康信息仅限结对志愿者、队长和社区工作人员 / health data is for the paired "
            "volunteers, the team leader and staff",
            code="health_data",
        )
    return {
        "elder_id": elder.id,
        "conditions": elder.conditions,
        "notes": elder.notes,
        "emergency_contact": {"name": elder.emergency_name, "phone": elder.emergency_phone},
    }


def pairings(session: Session, elder_id: str, page: PageQuery) -> Page[Row]:
    """The elder's pairing history, current and ended, oldest first."""
    get_or_404(session, Elder, elder_id, ELDER_MISSING)
    query = (
        select(Pairing, Volunteer)
        .join(Volunteer, Volunteer.id == Pairing.volunteer_id)
        .where(Pairing.elder_id == elder_id)
    )
    rows = session.exec(keyset(query, [Pairing.started_at, Pairing.id], page)).all()
    return page_of(
        rows,
        page,
        key=lambda r: (r[0].started_at, r[0].id),
        view=lambda r: {
            "id": r[0].id,
            "volunteer_id": r[1].id,
            "volunteer_name": r[1].name,
            "started_at": shown(r[0].started_at),
            "ended_at": shown(r[0].ended_at),
            "end_reason": r[0].end_reason,
        },
    )


def pairing_view(pairing: Pairing) -> Row:
    return {
        "id": pairing.id,
        "elder_id": pairing.elder_id,
        "volunteer_id": pairing.volunteer_id,
        "ended": pairing.ended_at is not None,
    }


def survey(session: Session, community: str, page: PageQuery) -> Page[Row]:
    """Per building and unit: the elders, their tiers, and who is paired (coverage)."""
    rows = session.exec(
        select(Elder).where(Elder.community == community).order_by(Elder.building, Elder.unit, Elder.floor, Elder.id)
    )
    paired = {p.elder_id for p in session.exec(select(Pairing).where(Pairing.ended_at.is_(None)))}
    groups: dict[tuple[str, str], Row] = {}
    for e in rows:
        group = groups.setdefault(
            (e.building, e.unit),
            {
                "building": e.building,
                "unit": e.unit,
                "elders": [],
                "paired": 0,
                "unpaired": 0,
                "tiers": dict.fromkeys(planning.TIERS, 0),
            },
        )
        is_paired = e.id in paired
        group["elders"].append(
            {
                "id": e.id,
                "name": e.name,
                "floor": e.floor,
                "tier": e.tier,
                "lives_alone": e.lives_alone,
                "paired": is_paired,
            }
        )
        group["paired" if is_paired else "unpaired"] += 1
        group["tiers"][e.tier] += 1
    ordered = [groups[k] for k in sorted(groups)]
    return page_in_memory(ordered, page, key=lambda g: (g["building"], g["unit"]))


# -- visits --------------------------------------------------------------------------------------
def log_view(session: Session, log: VisitLog) -> Row:
    revisions = session.exec(select(LogRevision).where(LogRevision.log_id == log.id).order_by(LogRevision.id))
    return {
        "id": log.id,
        "visit_id": log.visit_id,
        "volunteer_id": log.volunteer_id,
        "author": log.author,
        "visited_at": shown(log.visited_at),
        "method": log.method,
        "minutes": log.minutes,
        "checklist": log.checklist,
        "services": log.services,
        "notes": log.notes,
        "updated_at": shown(log.updated_at),
        "history": [
            {"at": shown(r.at), "actor": r.actor, "reason": r.reason, "before": r.before, "after": r.after}
            for r in revisions
        ],
    }


def visit_view(session: Session, visit: Visit, *, with_notes: bool) -> Row:
    """A visit with its log and hazards (each with its repair ticket); log notes only if ``with_notes``."""
    logs = [
        log_view(session, log)
        for log in session.exec(select(VisitLog).where(VisitLog.visit_id == visit.id).order_by(VisitLog.created_at))
    ]
    if not with_notes:
        for log in logs:
            log["notes"] = None
    hazards = session.exec(select(Hazard).where(Hazard.visit_id == visit.id).order_by(Hazard.found_at, Hazard.id))
    return {
        "id": visit.id,
        "elder_id": visit.elder_id,
        "kind": visit.kind,
        "campaign_id": visit.campaign_id,
        "due_at": shown(visit.due_at),
        "status": visit.status,
        "announced_at": shown(visit.due_fired_at),
        "missed_at": shown(visit.missed_at),
        "escalated_at": shown(visit.escalated_at),
        "done_at": shown(visit.done_at),
        "logs": logs,
        "hazards": [
            {
                "id": h.id,
                "category": h.category,
                "description": h.description,
                "location": h.location,
                "status": h.status,
                "ticket_id": h.ticket_id,
                "resolution": h.resolution,
                "resolved_at": shown(h.resolved_at),
            }
            for h in hazards
        ],
    }


def visit(session: Session, actor: Principal, visit_id: str) -> Row:
    """A visit with its log, hazards and their repair tickets (log notes for those who may see health data)."""
    found = get_or_404(session, Visit, visit_id, VISIT_MISSING)
    elder = get_or_404(session, Elder, found.elder_id, ELDER_MISSING)
    return visit_view(session, found, with_notes=can_see_health(session, actor, elder))


def logged(session: Session, log: VisitLog) -> Row:
    """The visit a new log closed, with the log's id (the author sees their own notes)."""
    found = get_or_404(session, Visit, log.visit_id, VISIT_MISSING)
    return visit_view(session, found, with_notes=True) | {"log_id": log.id}


def visits_of(session: Session, actor: Principal, elder_id: str, page: PageQuery) -> Page[Row]:
    """Visits of an elder, newest first (log notes only for those who may see health data)."""
    elder = get_or_404(session, Elder, elder_id, ELDER_MISSING)
    notes = can_see_health(session, actor, elder)
    query = select(Visit).where(Visit.elder_id == elder_id)
    rows = session.exec(keyset(query, [Visit.due_at, Visit.id], page, descending=True)).all()
    return page_of(rows, page, key=lambda v: (v.due_at, v.id), view=lambda v: visit_view(session, v, with_notes=notes))


def my_visits(session: Session, user_id: str, now: datetime, days: int, page: PageQuery) -> Page[Row]:
    """A volunteer's to-do list: open visits of the elders paired with them, overdue first, due within ``days``."""
    query = (
        select(Visit, Elder)
        .join(Elder, Elder.id == Visit.elder_id)
        .join(Pairing, Pairing.elder_id == Elder.id)
        .join(Volunteer, Volunteer.id == Pairing.volunteer_id)
        .where(
            Volunteer.user_id == user_id,
            Pairing.ended_at.is_(None),
            Visit.status.in_(("scheduled", "missed")),
            Visit.due_at <= now + timedelta(days=days),
        )
    )
    rows = session.exec(keyset(query, [Visit.due_at, Visit.id], page)).all()
    return page_of(
        rows,
        page,
        key=lambda r: (r[0].due_at, r[0].id),
        view=lambda r: {
            "visit_id": r[0].id,
            "kind": r[0].kind,
            "due_at": shown(r[0].due_at),
            "status": r[0].status,
            "overdue": as_utc(r[0].due_at) < now,
            "elder": elder_summary(r[1]),
            "address": address(r[1]),
        },
    )


def campaign_view(scheduled: tuple[Campaign, list[str], list[str]]) -> Row:
    campaign, elder_ids, skipped = scheduled
    return {
        "id": campaign.id,
        "name": campaign.name,
        "due_at": shown(campaign.due_at),
        "scheduled": elder_ids,
        "skipped_paused": skipped,
    }
