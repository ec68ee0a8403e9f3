"""What the API shows: elders (health data only to those allowed), volunteers (phones masked), visits."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from services.volunteers.adapters.orm import (
    Elder,
    Hazard,
    LogRevision,
    Pairing,
    PlanPause,
    TimeBankEntry,
    Visit,
    VisitLog,
    Volunteer,
)
from services.volunteers.domain.planning import grace_for
from services.volunteers.domain.visits import may_see_health
from services.volunteers.service_layer.common import address, paired_users, shown, team_of
from services.volunteers.service_layer.visits import balance
from shared.clock import as_utc
from shared.pii import mask_phone
from shared.web.auth import Principal


def can_see_health(session: Session, actor: Principal, elder: Elder) -> bool:
    team = team_of(session, elder.team_id)
    return may_see_health(
        actor.sub,
        actor.roles,
        team_leader=team.leader if team else None,
        paired_users=set(paired_users(session, elder.id)),
    )


def elder_summary(elder: Elder) -> dict:
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


def elder_view(session: Session, actor: Principal, elder: Elder, now) -> dict:
    """An elder's record; conditions, notes and the emergency phone only for those allowed."""
    show = can_see_health(session, actor, elder)
    upcoming = session.exec(
        select(Visit)
        .where(Visit.elder_id == elder.id, Visit.status == "scheduled", Visit.due_at >= now)
        .order_by(Visit.due_at)
        .limit(5)
    )
    pauses = session.exec(select(PlanPause).where(PlanPause.elder_id == elder.id, PlanPause.ends_at > now))
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
                .order_by(Pairing.started_at)
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


def pairings(session: Session, elder_id: str) -> list[dict]:
    """The elder's pairing history, current and ended."""
    rows = session.exec(
        select(Pairing, Volunteer)
        .join(Volunteer, Volunteer.id == Pairing.volunteer_id)
        .where(Pairing.elder_id == elder_id)
        .order_by(Pairing.started_at)
    )
    return [
        {
            "id": p.id,
            "volunteer_id": v.id,
            "volunteer_name": v.name,
            "started_at": shown(p.started_at),
            "ended_at": shown(p.ended_at),
            "end_reason": p.end_reason,
        }
        for p, v in rows
    ]


def volunteer_view(volunteer: Volunteer, *, full_phone: bool = False) -> dict:
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


def log_view(session: Session, log: VisitLog) -> dict:
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


def visit_view(session: Session, visit: Visit, *, with_notes: bool) -> dict:
    """A visit with its log and hazards (each with its repair ticket); log notes only if ``with_notes``."""
    logs = [log_view(session, log) for log in session.exec(select(VisitLog).where(VisitLog.visit_id == visit.id))]
    if not with_notes:
        for log in logs:
            log["notes"] = None
    hazards = session.exec(select(Hazard).where(Hazard.visit_id == visit.id).order_by(Hazard.found_at))
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


def timebank(session: Session, volunteer_id: str) -> dict:
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


def my_visits(session: Session, user_id: str, now, days: int = 7) -> list[dict]:
    """A volunteer's to-do list: open visits of the elders paired with them, overdue first, due within ``days``."""
    rows = session.exec(
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
        .order_by(Visit.due_at)
    )
    return [
        {
            "visit_id": v.id,
            "kind": v.kind,
            "due_at": shown(v.due_at),
            "status": v.status,
            "overdue": as_utc(v.due_at) < now,
            "elder": elder_summary(e),
            "address": address(e),
        }
        for v, e in rows
    ]


def visits_of(session: Session, elder_id: str, limit: int = 50) -> list[Visit]:
    return list(
        session.exec(select(Visit).where(Visit.elder_id == elder_id).order_by(Visit.due_at.desc()).limit(limit))
    )
