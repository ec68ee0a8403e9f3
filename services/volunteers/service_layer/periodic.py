"""The periodic steps of the volunteers service: plan, announce due visits, flag missed ones, weekly digests.

Every step claims its work with a conditional UPDATE (or an insert that ignores duplicates) in the
same transaction as the events it emits, so two replicas or a restart never double nor lose one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, select

from services.volunteers.adapters.orm import DigestRun, Elder, Team, Visit
from services.volunteers.domain.planning import CHECKLIST, DEFAULT_GRACE, GRACE
from services.volunteers.service_layer import planning, reports
from services.volunteers.service_layer.common import address, elder_fields, insert_ignore, paired_users, team_of
from shared.clock import SHANGHAI, as_utc
from shared.events.volunteers import VisitDue, VisitMissed, VolunteerDigestReady
from shared.service import ServiceContext

BATCH = 200


def run_all(ctx: ServiceContext, now: datetime) -> int:
    """Run every periodic step once; returns how many events were emitted (a count of work done)."""
    return (
        materialise_plans(ctx, now)
        + announce_due(ctx, now)
        + flag_missed(ctx, now)
        + escalate(ctx, now)
        + weekly_digests(ctx, now)
    )


def materialise_plans(ctx: ServiceContext, now: datetime) -> int:
    """Insert the visits of every plan up to the horizon (one transaction per elder)."""
    with Session(ctx.store.engine) as session:
        ids = list(session.exec(select(Elder.id).where(planning.needs_materialising(now))))
    count = 0
    for elder_id in ids:
        with ctx.store.transaction() as session:
            elder = session.get(Elder, elder_id)
            if elder is not None:
                count += planning.materialise(ctx, session, elder, now)
    return count


def _claim(
    session: Session, visit_id: str, column: str, now: datetime, *, in_status: str = "scheduled", **also: Any
) -> bool:
    """Set ``column`` to ``now`` (and ``also``) on a visit in ``in_status`` whose ``column`` is NULL.

    True if this caller won the claim.
    """
    stmt = update(Visit).where(Visit.id == visit_id, getattr(Visit, column).is_(None), Visit.status == in_status)
    stmt = stmt.values({column: now, **also}).execution_options(synchronize_session=False)
    return session.execute(stmt).rowcount == 1


def _visit_fields(session: Session, visit: Visit, elder: Elder, team: Team | None) -> dict[str, Any]:
    """What VisitDue and VisitMissed both tell: the visit, its elder and where, who is paired, the team leader."""
    return elder_fields(elder) | {
        "visit_id": visit.id,
        "due_at": as_utc(visit.due_at),
        "tier": elder.tier,
        "elder_name": elder.name,
        "address": address(elder),
        "volunteer_users": paired_users(session, elder.id),
        "team_leader": team.leader if team else None,
    }


def _candidates(ctx: ServiceContext, *conditions) -> list[str]:
    """Ids of visits matching ``conditions`` (Visit and its Elder), oldest first, at most BATCH."""
    with Session(ctx.store.engine) as session:
        return list(
            session.exec(
                select(Visit.id)
                .join(Elder, Elder.id == Visit.elder_id)
                .where(*conditions)
                .order_by(Visit.due_at)
                .limit(BATCH)
            )
        )


def _late(now: datetime, periods: int):
    """SQL condition: the visit is more than ``periods`` grace periods of its elder's tier late."""
    special = [and_(Elder.tier == tier, Visit.due_at <= now - periods * grace) for tier, grace in GRACE.items()]
    return or_(*special, and_(Elder.tier.not_in(list(GRACE)), Visit.due_at <= now - periods * DEFAULT_GRACE))


def announce_due(ctx: ServiceContext, now: datetime) -> int:
    """VisitDue, exactly once per visit whose time has come and that is not yet logged."""
    count = 0
    for visit_id in _candidates(ctx, Visit.due_at <= now, Visit.due_fired_at.is_(None), Visit.status == "scheduled"):
        with ctx.store.transaction() as session:
            if not _claim(session, visit_id, "due_fired_at", now):
                continue
            visit = session.get(Visit, visit_id)
            elder = session.get(Elder, visit.elder_id)
            team = team_of(session, elder.team_id)
            ctx.emit(
                session,
                VisitDue(
                    **_visit_fields(session, visit, elder, team),
                    checklist=CHECKLIST,
                    campaign_id=visit.campaign_id,
                    kind=visit.kind,
                ),
                subject=visit.id,
            )
            count += 1
    return count


def _missed_event(session: Session, visit: Visit, elder: Elder, level: int, staff: bool) -> VisitMissed:
    team = team_of(session, elder.team_id)
    escalated_to = (team.staff_contact if team and team.staff_contact else "staff") if staff else None
    return VisitMissed(
        **_visit_fields(session, visit, elder, team),
        miss_count=level,
        escalated_to=escalated_to,
        critical=elder.tier == "high_risk",
    )


def _previous_missed(session: Session, visit: Visit) -> bool:
    """Whether the elder's visit before this one was missed too (two misses in a row)."""
    before = session.exec(
        select(Visit)
        .where(Visit.elder_id == visit.elder_id, Visit.due_at < visit.due_at, Visit.kind != "adhoc")
        .order_by(Visit.due_at.desc())
    ).first()
    return before is not None and before.status == "missed"


def flag_missed(ctx: ServiceContext, now: datetime) -> int:
    """VisitMissed to the team leader once the grace period passed without a log.

    A miss right after another miss of the same elder is escalated to staff at once (level 2).
    """
    count = 0
    for visit_id in _candidates(ctx, Visit.status == "scheduled", Visit.missed_at.is_(None), _late(now, 1)):
        with ctx.store.transaction() as session:
            visit = session.get(Visit, visit_id)
            elder = session.get(Elder, visit.elder_id)
            again = _previous_missed(session, visit)
            if not _claim(session, visit_id, "missed_at", now, status="missed", escalated_at=now if again else None):
                continue
            ctx.emit(session, _missed_event(session, visit, elder, 2 if again else 1, again), subject=visit.id)
            count += 1
    return count


def escalate(ctx: ServiceContext, now: datetime) -> int:
    """A missed visit still not logged one more grace period later: VisitMissed level 2, to staff."""
    count = 0
    for visit_id in _candidates(ctx, Visit.status == "missed", Visit.escalated_at.is_(None), _late(now, 2)):
        with ctx.store.transaction() as session:
            visit = session.get(Visit, visit_id)
            elder = session.get(Elder, visit.elder_id)
            if not _claim(session, visit_id, "escalated_at", now, in_status="missed"):
                continue
            ctx.emit(session, _missed_event(session, visit, elder, 2, True), subject=visit.id)
            count += 1
    return count


def week_start(now: datetime) -> datetime:
    """Monday 00:00 in Shanghai of ``now``'s week, in UTC."""
    local = as_utc(now).astimezone(SHANGHAI)
    monday = datetime.combine(local.date() - timedelta(days=local.weekday()), datetime.min.time(), tzinfo=SHANGHAI)
    return monday.astimezone(UTC)


def weekly_digests(ctx: ServiceContext, now: datetime) -> int:
    """VolunteerDigestReady for each team leader, once per team and week (about the week just ended)."""
    end = week_start(now)
    start = end - timedelta(days=7)
    with Session(ctx.store.engine) as session:
        done = set(session.exec(select(DigestRun.team_id).where(DigestRun.week_start == start)))
        team_ids = [t for t in session.exec(select(Team.id).order_by(Team.id)) if t not in done]
    count = 0
    for team_id in team_ids:
        with ctx.store.transaction() as session:
            if not insert_ignore(session, DigestRun, {"team_id": team_id, "week_start": start, "sent_at": now}):
                continue
            team = session.get(Team, team_id)
            idle = sum(1 for v in reports.idle_volunteers(session, now) if v["team_id"] == team_id)
            ctx.emit(
                session,
                VolunteerDigestReady(
                    team_id=team.id,
                    team_leader=team.leader,
                    team_name=team.name,
                    week_start=start,
                    week_end=end,
                    volunteers_idle=idle,
                    **reports.team_week(session, team.id, start, end),
                ),
                subject=team.id,
            )
            count += 1
    return count
