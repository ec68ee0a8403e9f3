"""Visit plans: materialising RRULE occurrences as visits, re-planning, pauses."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, select

from services.volunteers.adapters.orm import Elder, PlanPause, Visit
from services.volunteers.domain import planning
from services.volunteers.service_layer.common import emit_visit_scheduled, insert_ignore
from shared.clock import as_utc
from shared.errors import Invalid
from shared.events.envelope import CloudEvent

REFILL_BEFORE = timedelta(days=28)


def routine_visit_id(elder_id: str, due_at: datetime) -> str:
    return f"V-{elder_id}-{as_utc(due_at):%Y%m%d%H%M}"


def start_plan(elder: Elder, rule: str, now: datetime) -> None:
    """Point an elder's plan at ``rule`` starting with the next visit slot (within 24 hours)."""
    anchor = planning.anchor_after(now)
    elder.rrule = planning.check_rule(rule, anchor)
    elder.plan_anchor = as_utc(anchor)
    elder.planned_until = anchor - timedelta(seconds=1)


def materialise(ctx, session: Session, elder: Elder, now: datetime, causation: CloudEvent | None = None) -> int:
    """Insert the plan's visits up to ``now + HORIZON`` (each once, even from two replicas).

    Emits VisitScheduled for each visit this call inserted; returns how many.
    """
    until = now + planning.HORIZON
    since = as_utc(elder.planned_until)
    if since >= until:
        return 0
    pauses = [(p.starts_at, p.ends_at) for p in session.exec(select(PlanPause).where(PlanPause.elder_id == elder.id))]
    count = 0
    for due in planning.occurrences(elder.rrule, elder.plan_anchor, since, until, pauses):
        visit_id = routine_visit_id(elder.id, due)
        if insert_ignore(
            session,
            Visit,
            {"id": visit_id, "elder_id": elder.id, "kind": "routine", "due_at": due, "status": "scheduled"},
        ):
            emit_visit_scheduled(ctx, session, elder, visit_id, due, causation)
            count += 1
    session.execute(
        update(Elder)
        .where(Elder.id == elder.id, Elder.planned_until < until)
        .values(planned_until=until)
        .execution_options(synchronize_session=False)
    )
    elder.planned_until = until
    return count


def needs_materialising(now: datetime):
    """Filter: elders whose planned visits end within ``REFILL_BEFORE`` of the horizon."""
    return Elder.planned_until < now + REFILL_BEFORE


def drop_future(
    session: Session, elder_id: str, now: datetime, *, start: datetime | None = None, end: datetime | None = None
) -> int:
    """Remove planned visits not yet due (nor announced) after ``now``, optionally only in ``[start, end)``."""
    stmt = delete(Visit).where(
        Visit.elder_id == elder_id,
        Visit.kind == "routine",
        Visit.status == "scheduled",
        Visit.due_fired_at.is_(None),
        Visit.due_at > now,
    )
    if start is not None:
        stmt = stmt.where(Visit.due_at >= start)
    if end is not None:
        stmt = stmt.where(Visit.due_at < end)
    return session.execute(stmt.execution_options(synchronize_session=False)).rowcount


def replan(ctx, session: Session, elder: Elder, rule: str, now: datetime, causation: CloudEvent | None = None) -> int:
    """Replace an elder's plan: future unannounced visits go, the new rule is materialised."""
    start_plan(elder, rule, now)
    drop_future(session, elder.id, now)
    session.add(elder)
    session.flush()
    return materialise(ctx, session, elder, now, causation)


def pause(
    session: Session, elder: Elder, starts_at: datetime, ends_at: datetime, reason: str, actor: str, now: datetime
) -> PlanPause:
    """Pause an elder's plan (hospital stay, travel): no visit falls due inside ``[starts_at, ends_at)``.

    Planned visits there are removed; those already announced and campaign visits are cancelled.
    """
    if as_utc(ends_at) <= as_utc(starts_at):
        raise Invalid("暂停结束须晚于开始 / a pause must end after it starts")
    starts_at, ends_at = as_utc(starts_at), as_utc(ends_at)
    row = PlanPause(elder_id=elder.id, starts_at=starts_at, ends_at=ends_at, reason=reason, created_by=actor)
    session.add(row)
    drop_future(session, elder.id, now, start=starts_at, end=ends_at)
    session.execute(
        update(Visit)
        .where(  # already announced, or a campaign's: called off, never missed
            Visit.elder_id == elder.id,
            Visit.status == "scheduled",
            Visit.due_at >= starts_at,
            Visit.due_at < ends_at,
        )
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return row
