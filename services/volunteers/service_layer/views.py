"""What the API shows: elders (health data only to those allowed), volunteers (phones masked), visits.

Read views: each function loads and shapes rows for a response, within the caller's reach
(:mod:`.scope`). The only row they write is the access log's, when they show health data or a full
phone (:mod:`.consent`); the routes that may show them therefore run as units of work that write.
Lists are cursor pages (``shared.web.pages``) in a stable order by a unique key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Select, bindparam
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
from services.volunteers.service_layer import consent, scope
from services.volunteers.service_layer.common import VISIT_MISSING, address, read
from services.volunteers.service_layer.registry import weekly_load
from services.volunteers.service_layer.scope import Reach
from services.volunteers.service_layer.visits import Logged, balance
from shared.clock import as_utc, shown
from shared.db.driver import fetch
from shared.db.lookup import get_or_404
from shared.errors import Forbidden, NotFound
from shared.identity import Principal
from shared.pii import mask_phone
from shared.web.pages import Page, PageQuery, keyset, page_in_memory, page_of

Row = dict[str, Any]


def can_see_health(session: Session, r: Reach, elder: Elder) -> bool:
    """Staff of her community, her team's leader and her paired volunteers, while a consent is current."""
    return scope.may_read_health(r, elder) and consent.current(session, elder.id) is not None


def may_see_contact(r: Reach, volunteer: Volunteer) -> bool:
    """The volunteer themself, their team leader and staff of their community see the full phone."""
    return scope.manages_volunteer(r, volunteer) or (r.volunteer is not None and r.volunteer.id == volunteer.id)


def _log_phone(session: Session, r: Reach, volunteer: Volunteer, purpose: str, now: datetime) -> None:
    if volunteer.phone and r.who.sub != volunteer.user_id:
        consent.log_read(
            session,
            r.who,
            kind="volunteer",
            subject_id=volunteer.id,
            fields=["phone"],
            purpose=purpose,
            at=now,
            community=volunteer.community,
        )


def _log_health(session: Session, r: Reach, elder: Elder, purpose: str, now: datetime, *, notes_only=False) -> None:
    fields = ["health"] + ([] if notes_only or not elder.emergency_phone else ["emergency_phone"])
    consent.log_read(
        session,
        r.who,
        kind="elder",
        subject_id=elder.id,
        fields=fields,
        purpose=purpose,
        at=now,
        community=elder.community,
    )


# -- teams and volunteers ------------------------------------------------------------------------
def team_view(team: Team) -> Row:
    return {
        "id": team.id,
        "name": team.name,
        "community": team.community,
        "leader": team.leader,
        "staff_contact": team.staff_contact,
    }


def teams(session: Session, r: Reach, page: PageQuery) -> Page[Row]:
    """The teams in the caller's reach, by id."""
    rows = session.exec(keyset(select(Team).where(scope.team_clause(r)), [Team.id], page)).all()
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


def volunteers(session: Session, r: Reach, page: PageQuery, community: str | None = None) -> Page[Row]:
    """Volunteers in the caller's reach with masked phones, by id."""
    query = select(Volunteer).where(scope.volunteer_clause(r))
    if community:
        query = query.where(Volunteer.community == community)
    rows = session.exec(keyset(query, [Volunteer.id], page)).all()
    return page_of(rows, page, key=lambda v: (v.id,), view=volunteer_view)


def volunteer_detail(session: Session, r: Reach, volunteer_id: str, now: datetime, purpose: str) -> Row:
    """A volunteer with their weekly load; the full phone only for themself, their team leader and staff."""
    volunteer = scope.volunteer_in_reach(session, r, volunteer_id)
    return volunteer_changed(session, r, volunteer, now, purpose)


def volunteer_changed(
    session: Session, r: Reach, volunteer: Volunteer, now: datetime, purpose: str, plans: list[Any] | None = None
) -> Row:
    """A volunteer as the caller may see them: the full phone (logged) for those of :func:`may_see_contact`;
    ``plans``: those of their paired elders, if already read (``registry.weekly_load``)."""
    full_phone = may_see_contact(r, volunteer)
    if full_phone:
        _log_phone(session, r, volunteer, purpose, now)
    return volunteer_view(volunteer, full_phone=full_phone) | {
        "weekly_load": round(weekly_load(session, volunteer.id, now, plans), 2)
    }


def timebank(session: Session, r: Reach, volunteer_id: str) -> Row:
    """The time-bank balance and entries: for the volunteer themself, their team leader and staff."""
    volunteer = scope.volunteer_in_reach(session, r, volunteer_id)
    if not may_see_contact(r, volunteer):
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


_E = Elder.__table__.c  # type: ignore[attr-defined]
SUMMARY = ("id", "name", "community", "estate", "building", "unit", "floor", "tier", "lives_alone", "team_id")
"""The columns of :func:`elder_summary`: a list builds no ORM objects, nor reads health data."""
_ELDER_KEY = (_E.community, _E.building, _E.unit, _E.id)
FILTERS = ("community", "building", "tier")


@lru_cache(maxsize=128)
def _elders_query(reach: tuple[str, ...], filtered: tuple[str, ...]) -> Select[Any]:
    """The summaries of the elders of a reach's shape (``scope.elder_reach``) with the ``filtered`` columns
    equal to their parameters: built once per shape, so that its first page is too (``keyset``)."""
    query: Select[Any] = select(*(_E[c] for c in SUMMARY)).where(scope.elder_clause_of(reach))
    for name in filtered:
        query = query.where(_E[name] == bindparam(name))
    return query


def elders(
    connection: Connection,
    who: Principal,
    page: PageQuery,
    *,
    community: str | None = None,
    building: str | None = None,
    tier: str | None = None,
    model: type[BaseModel],
) -> Page[Any]:
    """Elders in ``who``'s reach (:func:`.scope.reach`) without health data, by community, building, unit
    and id: one SELECT, the reach a subquery of it (``scope.elder_reach``).

    It reads on a connection (no ORM session: ``Runner.rows``). A first page is read through the driver on
    SQLite (``fetch``), a cursor page by SQLAlchemy (its statement holds the cursor's values). The page is
    validated as ``model`` (the route's item model) in one call from the rows (``page_of``), and the route
    answers it as it is."""
    parts, given = scope.elder_reach(who)
    for name, value in zip(FILTERS, (community, building, tier), strict=True):
        if value:
            given[name] = value
    query = keyset(_elders_query(parts, tuple(n for n in FILTERS if n in given)), _ELDER_KEY, page)
    # a first page's statement is built once (see keyset): on SQLite to the driver; a cursor page's holds the
    # cursor's values, new each time: SQLAlchemy's cache keys it by its shape
    rows = fetch(connection, query, given) if page.cursor is None else connection.execute(query, given).all()
    return page_of(
        rows,
        page,
        key=lambda e: (e.community, e.building, e.unit, e.id),
        model=model,
    )


def elder(session: Session, r: Reach, elder_id: str, now: datetime, purpose: str) -> Row:
    return elder_view(session, r, scope.elder_in_reach(session, r, elder_id), now, purpose)


def elder_view(session: Session, r: Reach, elder: Elder, now: datetime, purpose: str) -> Row:
    """An elder's record; conditions, notes and the emergency phone only for those allowed (logged)."""
    show = can_see_health(session, r, elder)
    if show:
        _log_health(session, r, elder, purpose, now)
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
        "health_consent": consent.current(session, elder.id) is not None,
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


def health(session: Session, r: Reach, elder_id: str, now: datetime, purpose: str) -> Row:
    """Health data: refused unless the caller is paired with the elder, leads their team, or is staff."""
    elder = scope.elder_in_reach(session, r, elder_id)
    return health_of(session, r, elder, now, purpose)


def health_of(session: Session, r: Reach, elder: Elder, now: datetime, purpose: str) -> Row:
    if not scope.may_read_health(r, elder):
        raise Forbidden(
            "健康信息仅限结对志愿者、队长和社区工作人员 / health data is for the paired "
            "volunteers, the team leader and staff",
            code="health_data",
        )
    current = consent.current(session, elder.id)
    if current is None:
        return {
            "elder_id": elder.id,
            "conditions": "",
            "notes": "",
            "emergency_contact": {"name": elder.emergency_name, "phone": None},
            "consent_id": None,
        }
    _log_health(session, r, elder, purpose, now)
    return {
        "elder_id": elder.id,
        "conditions": elder.conditions,
        "notes": elder.notes,
        "emergency_contact": {"name": elder.emergency_name, "phone": elder.emergency_phone},
        "consent_id": current.id,
    }


def pairings(session: Session, r: Reach, elder_id: str, page: PageQuery) -> Page[Row]:
    """The elder's pairing history, current and ended, oldest first."""
    scope.elder_in_reach(session, r, elder_id)
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


def survey(session: Session, r: Reach, community: str, page: PageQuery) -> Page[Row]:
    """Per building and unit: the elders, their tiers, and who is paired (coverage).

    Staff of the community see all of its elders, a team leader those of their teams.
    """
    scope.require_community(r, community)
    rows = session.exec(
        select(Elder)
        .where(Elder.community == community, scope.elder_clause(r))
        .order_by(Elder.building, Elder.unit, Elder.floor, Elder.id)
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
_VISIT: Any = Visit.__table__  # type: ignore[attr-defined]
_LOG: Any = VisitLog.__table__  # type: ignore[attr-defined]
_REVISION: Any = LogRevision.__table__  # type: ignore[attr-defined]
_HAZARD: Any = Hazard.__table__  # type: ignore[attr-defined]
_VISIT_ROW = select(*_VISIT.c).where(_VISIT.c.id == bindparam("visit_id"))
_REVISIONS = select(*_REVISION.c).where(_REVISION.c.log_id == bindparam("log_id")).order_by(_REVISION.c.id)
_LOGS = select(*_LOG.c).where(_LOG.c.visit_id == bindparam("visit_id")).order_by(_LOG.c.created_at)
_HAZARDS = (
    select(*_HAZARD.c).where(_HAZARD.c.visit_id == bindparam("visit_id")).order_by(_HAZARD.c.found_at, _HAZARD.c.id)
)
"""A visit, its logs, a log's revisions and a visit's hazards: built once (every logged visit answers with them),
read as rows of their columns (through the driver on SQLite, ``common.read``)."""


def log_view(session: Session, log: Any) -> Row:
    """A log (an ORM row or a row of its columns) with its history of corrections."""
    return _log_view(log, read(session, _REVISIONS, {"log_id": log.id}))


def _log_view(log: Any, revisions: Sequence[Any]) -> Row:
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


def visit_view(session: Session, visit: Any, *, with_notes: bool) -> Row:
    """A visit (an ORM row or a row of its columns) with its log and hazards (each with its repair ticket);
    log notes only if ``with_notes``."""
    logs = [log_view(session, log) for log in read(session, _LOGS, {"visit_id": visit.id})]
    return _visit_view(visit, logs, read(session, _HAZARDS, {"visit_id": visit.id}), with_notes=with_notes)


def _visit_view(visit: Any, logs: list[Row], hazards: Sequence[Any], *, with_notes: bool) -> Row:
    if not with_notes:
        for log in logs:
            log["notes"] = None
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


def visit(session: Session, r: Reach, visit_id: str, now: datetime, purpose: str) -> Row:
    """A visit with its log, hazards and their repair tickets (log notes for those who may see health data)."""
    found = get_or_404(session, Visit, visit_id, VISIT_MISSING)
    elder = session.get(Elder, found.elder_id)
    if elder is None or not scope.sees_elder(r, elder):
        raise NotFound(VISIT_MISSING)
    notes = can_see_health(session, r, elder)
    if notes:
        _log_health(session, r, elder, purpose, now, notes_only=True)
    return visit_view(session, found, with_notes=notes)


def logged(session: Session, log: Logged) -> Row:
    """The visit a new log closed, with the log's id (the author sees their own notes).

    A visit the log closed is read back with all its logs and hazards. A new ad-hoc visit holds only the rows
    the log just wrote (its id is new): its answer is built from them, as the same view would read them
    back (the log has no corrections yet, hazards by time found and id)."""
    if log.adhoc is not None:
        hazards = sorted(log.hazards, key=lambda h: (h.found_at, h.id))
        return _visit_view(log.adhoc, [_log_view(log.log, ())], hazards, with_notes=True) | {"log_id": log.log.id}
    found = read(session, _VISIT_ROW, {"visit_id": log.visit_id})
    if not found:
        raise NotFound(VISIT_MISSING)
    return visit_view(session, found[0], with_notes=True) | {"log_id": log.log.id}


def visits_of(session: Session, r: Reach, elder_id: str, page: PageQuery, now: datetime, purpose: str) -> Page[Row]:
    """Visits of an elder, newest first (log notes only for those who may see health data)."""
    elder = scope.elder_in_reach(session, r, elder_id)
    notes = can_see_health(session, r, elder)
    if notes:
        _log_health(session, r, elder, purpose, now, notes_only=True)
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
