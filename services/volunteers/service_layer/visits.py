"""Visit logs, corrections with history, the time bank, hazards, and campaigns."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, case, func, update
from sqlmodel import Session, select

from services.volunteers.adapters.orm import (
    Campaign,
    Elder,
    Hazard,
    LogRevision,
    PlanPause,
    TimeBankEntry,
    Visit,
    VisitLog,
    Volunteer,
)
from services.volunteers.domain.planning import CHECKLIST, check_tier
from services.volunteers.domain.visits import HAZARD_CATEGORIES, check_method, hours_for
from services.volunteers.service_layer import scope
from services.volunteers.service_layer.common import (
    ELDER_MISSING,
    VISIT_MISSING,
    active_pairings,
    address,
    elder_fields,
    emit_visit_scheduled,
    insert_ignore,
    insert_into,
    volunteer_of_user,
)
from services.volunteers.service_layer.scope import OwnRecord, Reach
from shared.clock import as_utc
from shared.db.driver import fetch
from shared.db.lookup import get_or_404
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.events.volunteers import CampaignScheduled, VisitCompleted, VisitHazardFound
from shared.ids import new_id

CHECK_VALUES = ("ok", "attention", "problem", "n/a")
MATCH_WINDOW = timedelta(days=7)
AMENDABLE = ("visited_at", "method", "minutes", "checklist", "services", "notes")


def check_checklist(checklist: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(checklist) - set(CHECKLIST))
    if unknown:
        raise Invalid(f"检查项未知 / unknown checklist item; the items are {', '.join(CHECKLIST)}", code="checklist")
    bad = sorted(k for k, v in checklist.items() if v not in CHECK_VALUES)
    if bad:
        raise Invalid(f"检查结果应为 {'/'.join(CHECK_VALUES)} / invalid result for: {', '.join(bad)}", code="checklist")
    return dict(checklist)


def _visiting_volunteer(session: Session, r: Reach, elder: Any, volunteer_id: str | None) -> Volunteer | OwnRecord:
    """Who made the visit: the caller, or (for the team leader and staff) the volunteer they name."""
    actor = r.who
    leader = scope.leads_elder(r, elder)
    staff = r.serves(elder.community)
    if volunteer_id and (leader or staff):
        return scope.volunteer_in_reach(session, r, volunteer_id, manage=True)
    # the reach read a volunteer's or leader's own record and pairings already (scope.reach)
    own = actor.has("volunteer", "team_leader")
    volunteer = r.volunteer if own else volunteer_of_user(session, actor.sub)
    if volunteer is None:
        raise Forbidden("只有志愿者可以登记走访 / only a volunteer can log a visit (staff: name the volunteer_id)")
    if volunteer_id and volunteer_id != volunteer.id:
        raise Forbidden("不能替他人登记 / you can only log your own visits")
    if own:
        paired = elder.id in r.paired
    else:
        paired = volunteer.id in {p.volunteer_id for p in active_pairings(session, elder.id)}
    if not paired and not leader and not staff:
        raise Forbidden("未与该老人结对 / you are not paired with this elder", code="not_paired")
    return volunteer


_VISIT = Visit.__table__  # type: ignore[attr-defined]
_due = _VISIT.c.due_at <= bindparam("at")
_OPEN_VISIT = (
    select(_VISIT.c.id, _VISIT.c.status)
    .where(
        _VISIT.c.elder_id == bindparam("elder_id"),
        _VISIT.c.status.in_(("scheduled", "missed")),
        _VISIT.c.due_at <= bindparam("until"),
    )
    .order_by(case((_due, 0), else_=1), case((_due, _VISIT.c.due_at)).desc(), _VISIT.c.due_at)
    .limit(1)
)
"""Built once: the elder's waiting visits due by then, the latest, else the earliest due within the window."""
_VISIT_BY_ID = select(_VISIT.c.id, _VISIT.c.elder_id, _VISIT.c.status).where(_VISIT.c.id == bindparam("visit_id"))
_CLOSE = (
    update(_VISIT).where(_VISIT.c.id == bindparam("visit_id")).values(status="done", done_at=bindparam("visited_at"))
)
"""The visit a log closes is done at the visit's time (what the ORM's flush wrote: only those two columns)."""


def _open_visit(connection: Connection, elder_id: str, visited_at: datetime) -> Any | None:
    """The visit a log without ``visit_id`` closes (its ``id`` and ``status``), or ``None``.

    The latest visit already due and not logged, else the next one due within a week (one query).
    """
    params = {"elder_id": elder_id, "at": visited_at, "until": visited_at + MATCH_WINDOW}
    rows = fetch(connection, _OPEN_VISIT, params)
    return rows[0] if rows else None


class Logged(NamedTuple):
    """A visit log just written: the visit it closed, the log's row, the hazards' rows and, for a visit
    logged ad hoc, the new visit's row (rows as the attributes of their columns)."""

    visit_id: str
    log: SimpleNamespace
    hazards: list[SimpleNamespace]
    adhoc: SimpleNamespace | None


def log_visit(
    ctx,
    session: Session,
    r: Reach,
    *,
    elder_id: str,
    now: datetime,
    method: str,
    minutes: int,
    visited_at: datetime | None = None,
    visit_id: str | None = None,
    volunteer_id: str | None = None,
    checklist: dict[str, str] | None = None,
    services: list[str] = (),
    notes: str = "",
    hazards: list[dict] = (),
) -> Logged:
    """Log a visit: the visit is done, hours are credited, each hazard is published (VisitHazardFound).

    The rows are written by Core statements on the session's connection (on SQLite the INSERTs through the
    driver): no ORM object is loaded or flushed. The elder is read without her health data (only where
    she lives, for the scope checks and the events)."""
    actor = r.who
    elder = scope.elder_place_in_reach(session, r, elder_id)
    volunteer = _visiting_volunteer(session, r, elder, volunteer_id)
    visited_at = as_utc(visited_at or now)
    if visited_at > now + timedelta(hours=1):
        raise Invalid("走访时间不能在将来 / a visit cannot be logged in the future", code="visit_in_future")
    check_method(method)
    hours = hours_for(minutes)
    checklist = check_checklist(checklist or {})
    for hazard in hazards:
        if hazard.get("category") not in HAZARD_CATEGORIES:
            raise Invalid(f"隐患类别应为 {', '.join(HAZARD_CATEGORIES)} / invalid hazard category")
    # nothing is pending in the session (the reads above load, never change): the rows go to its connection
    connection = session.connection()
    if visit_id:
        found = fetch(connection, _VISIT_BY_ID, {"visit_id": visit_id})
        if not found:
            raise NotFound(VISIT_MISSING)
        visit = found[0]
        if visit.elder_id != elder.id:
            raise Invalid("走访与老人不符 / the visit belongs to another elder")
        if visit.status == "done":
            raise Conflict("该走访已登记 / the visit is already logged", code="visit_logged")
    else:
        visit = _open_visit(connection, elder.id, visited_at)
    adhoc = None
    if visit is not None:
        visit_id = visit.id
        connection.execute(_CLOSE, {"visit_id": visit_id, "visited_at": visited_at})
    else:
        visit_id = new_id("V")
        row = {
            "id": visit_id,
            "elder_id": elder.id,
            "kind": "adhoc",
            "campaign_id": None,
            "due_at": visited_at,
            "status": "done",
            "due_fired_at": None,
            "missed_at": None,
            "escalated_at": None,
            "done_at": visited_at,
        }
        insert_into(connection, _VISIT, [row])
        adhoc = SimpleNamespace(**row)
    log_id = new_id("L")
    log = {
        "id": log_id,
        "visit_id": visit_id,
        "elder_id": elder.id,
        "volunteer_id": volunteer.id,
        "author": actor.sub,
        "visited_at": visited_at,
        "method": method,
        "minutes": minutes,
        "checklist": checklist,
        "services": list(services),
        "notes": notes,
        "created_at": now,
        "updated_at": now,
    }
    insert_into(connection, VisitLog.__table__, [log])  # type: ignore[attr-defined]
    credit = {
        "volunteer_id": volunteer.id,
        "log_id": log_id,
        "hours": hours,
        "kind": "visit",
        "at": now,
        "actor": actor.sub,
    }
    insert_into(connection, TimeBankEntry.__table__, [credit])  # type: ignore[attr-defined]
    done = ctx.emit(
        session,
        VisitCompleted(
            **elder_fields(elder),
            visit_id=visit_id,
            volunteer_id=volunteer.id,
            visited_at=visited_at,
            method=method,
            minutes=minutes,
        ),
        subject=visit_id,
    )
    found = []
    for item in hazards:
        hazard = {
            "id": new_id("H"),
            "visit_id": visit_id,
            "log_id": log_id,
            "elder_id": elder.id,
            "category": item["category"],
            "description": item["description"],
            "location": item.get("location") or "",
            "status": "open",
            "ticket_id": None,
            "resolution": None,
            "found_at": now,
            "resolved_at": None,
        }
        insert_into(connection, Hazard.__table__, [hazard])  # type: ignore[attr-defined]
        found.append(SimpleNamespace(**hazard))
        where = address(elder) + (f" {hazard['location']}" if hazard["location"] else "")
        ctx.emit(
            session,
            VisitHazardFound(
                **elder_fields(elder),
                hazard_id=hazard["id"],
                visit_id=visit_id,
                category=hazard["category"],
                description=hazard["description"],
                address=where,
                reported_by=actor.sub,
            ),
            subject=hazard["id"],
            causation=done,
        )
    return Logged(visit_id, SimpleNamespace(**log), found, adhoc)


def amend_log(session: Session, r: Reach, log_id: str, changes: dict, reason: str, now: datetime) -> VisitLog:
    """Correct a log (its author or the team leader only); the change and any hours difference are kept."""
    actor = r.who
    missing = "走访记录不存在 / no such visit log"
    log = get_or_404(session, VisitLog, log_id, missing)
    elder = get_or_404(session, Elder, log.elder_id, ELDER_MISSING)
    if actor.sub != log.author and not scope.sees_elder(r, elder):
        raise NotFound(missing)
    if actor.sub != log.author and not scope.leads_elder(r, elder):
        raise Forbidden("只有记录人或队长可以修改 / only the author or the team leader can amend a log")
    if not reason.strip():
        raise Invalid("请说明修改原因 / give the reason for the correction")
    changes = {k: v for k, v in changes.items() if k in AMENDABLE and v is not None}
    if not changes:
        raise Invalid("没有修改内容 / nothing to change")
    if "method" in changes:
        check_method(changes["method"])
    if "checklist" in changes:
        changes["checklist"] = check_checklist(changes["checklist"])
    if "visited_at" in changes:
        changes["visited_at"] = as_utc(changes["visited_at"])
        if changes["visited_at"] > now + timedelta(hours=1):
            raise Invalid("走访时间不能在将来 / a visit cannot be logged in the future", code="visit_in_future")
    before = {k: _plain(getattr(log, k)) for k in changes}
    if "minutes" in changes:
        delta = hours_for(changes["minutes"]) - hours_for(log.minutes)
        if delta:
            session.add(
                TimeBankEntry(
                    volunteer_id=log.volunteer_id,
                    log_id=log.id,
                    hours=delta,
                    kind="correction",
                    at=now,
                    actor=actor.sub,
                )
            )
    for key, value in changes.items():
        setattr(log, key, value)
    log.updated_at = now
    if "visited_at" in changes:
        visit = get_or_404(session, Visit, log.visit_id, VISIT_MISSING)
        visit.done_at = changes["visited_at"]
        session.add(visit)
    session.add(log)
    session.add(
        LogRevision(
            log_id=log.id,
            at=now,
            actor=actor.sub,
            reason=reason,
            before=before,
            after={k: _plain(v) for k, v in changes.items()},
        )
    )
    session.flush()
    return log


def _plain(value):
    return as_utc(value).isoformat() if isinstance(value, datetime) else value


def balance(session: Session, volunteer_id: str) -> float:
    """The volunteer's time-bank balance in hours."""
    total = session.exec(select(func.sum(TimeBankEntry.hours)).where(TimeBankEntry.volunteer_id == volunteer_id)).one()
    return round(total or 0.0, 2)


def schedule_campaign(
    ctx,
    session: Session,
    r: Reach,
    *,
    name: str,
    due_at: datetime,
    now: datetime,
    elder_ids: list[str] = (),
    community: str | None = None,
    building: str | None = None,
    tiers: list[str] = (),
) -> tuple[Campaign, list[str], list[str]]:
    """Extra visits for chosen elders (or a community/building/tier selection), due at ``due_at``.

    Elders whose plan is paused at that time are skipped. Returns the campaign, scheduled and skipped ids.
    """
    due_at = as_utc(due_at)
    if due_at <= now:
        raise Invalid("活动走访须在将来 / a campaign is due in the future", code="campaign_in_past")
    for tier in tiers:
        check_tier(tier)
    actor = r.who
    if elder_ids:
        elders = [scope.elder_in_reach(session, r, e, manage=True) for e in dict.fromkeys(elder_ids)]
    elif community:
        scope.require_community(r, community)
        query = select(Elder).where(Elder.community == community, scope.elder_clause(r))
        if building:
            query = query.where(Elder.building == building)
        if tiers:
            query = query.where(Elder.tier.in_(tiers))
        elders = list(session.exec(query.order_by(Elder.id)))
    else:
        raise Invalid("请选择老人或社区 / choose elder_ids or a community")
    if not elders:
        raise Invalid("没有符合条件的老人 / no elder matches", code="no_elder_matches")
    campaign = Campaign(id=new_id("C"), name=name, due_at=due_at, created_by=actor.sub, created_at=now)
    session.add(campaign)
    session.flush()
    cause = ctx.emit(
        session,
        CampaignScheduled(campaign_id=campaign.id, name=name, due_at=due_at, elder_count=len(elders)),
        subject=campaign.id,
    )
    scheduled, skipped = [], []
    for elder in elders:
        paused = session.exec(
            select(PlanPause).where(
                PlanPause.elder_id == elder.id, PlanPause.starts_at <= due_at, PlanPause.ends_at > due_at
            )
        ).first()
        if paused is not None:
            skipped.append(elder.id)
            continue
        visit_id = f"V-{campaign.id}-{elder.id}"
        insert_ignore(
            session,
            Visit,
            {
                "id": visit_id,
                "elder_id": elder.id,
                "kind": "campaign",
                "campaign_id": campaign.id,
                "due_at": due_at,
                "status": "scheduled",
            },
        )
        emit_visit_scheduled(ctx, session, elder, visit_id, due_at, cause, kind="campaign", campaign_id=campaign.id)
        scheduled.append(elder.id)
    return campaign, scheduled, skipped


def ticket_opened(session: Session, hazard_id: str, ticket_id: str) -> Hazard | None:
    """The repair ticket opened for a hazard: remember its id (shown on the visit)."""
    hazard = session.get(Hazard, hazard_id)
    if hazard is None:
        return None
    hazard.ticket_id = ticket_id
    if hazard.status == "open":
        hazard.status = "ticketed"
    session.add(hazard)
    return hazard


def ticket_resolved(
    session: Session, hazard_id: str | None, ticket_id: str, note: str | None, at: datetime
) -> Hazard | None:
    """The repair ticket of a hazard was resolved: the hazard is resolved with the ticket's note."""
    hazard = session.get(Hazard, hazard_id) if hazard_id else None
    if hazard is None:
        hazard = session.exec(select(Hazard).where(Hazard.ticket_id == ticket_id)).first()
    if hazard is None:
        return None
    hazard.ticket_id = hazard.ticket_id or ticket_id
    hazard.status, hazard.resolution, hazard.resolved_at = "resolved", note, at
    session.add(hazard)
    return hazard
