"""Reports for the team and the community office: coverage, idle volunteers, hours, open hazards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from services.volunteers.adapters.orm import Elder, Hazard, TimeBankEntry, Visit, VisitLog, Volunteer
from services.volunteers.service_layer import scope
from services.volunteers.service_layer.scope import Reach
from shared.clock import SHANGHAI, as_utc, shown
from shared.errors import Invalid
from shared.web.pages import Page, PageQuery, keyset, page_in_memory, page_of

SCHEDULED_KINDS = ("routine", "campaign")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``2026-11`` → the month's start and end (Shanghai midnight) in UTC."""
    try:
        year, mon = (int(x) for x in month.split("-"))
        start = datetime(year, mon, 1, tzinfo=SHANGHAI)
    except ValueError:
        raise Invalid("月份格式应为 YYYY-MM / month must look like 2026-11") from None
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def coverage(session: Session, r: Reach, community: str, month: str) -> dict:
    """Per building: visits due, done and missed in the month, the visit rate (target 1.0) and elders reached.

    Staff of the community and operators count all its elders, a team leader those of their teams.
    """
    scope.require_community(r, community, operational=True)
    start, end = month_bounds(month)
    chosen = select(Elder).where(Elder.community == community, scope.elder_clause(r, operational=True))
    elders = {e.id: e for e in session.exec(chosen)}
    rows: dict[str, dict] = {}
    for elder in elders.values():
        rows.setdefault(
            elder.building,
            {
                "building": elder.building,
                "elders": 0,
                "due": 0,
                "done": 0,
                "missed": 0,
                "elders_visited": 0,
                "_visited": set(),
            },
        )["elders"] += 1
    visits = session.exec(
        select(Visit).where(Visit.elder_id.in_(list(elders)), Visit.due_at >= start, Visit.due_at < end)
    )
    for visit in visits:
        row = rows[elders[visit.elder_id].building]
        if visit.kind in SCHEDULED_KINDS and visit.status != "cancelled":
            row["due"] += 1
            row["done"] += visit.status == "done"
            row["missed"] += visit.status == "missed"
        if visit.status == "done":
            row["_visited"].add(visit.elder_id)
    done_logs = session.exec(
        select(VisitLog.elder_id).where(
            VisitLog.elder_id.in_(list(elders)), VisitLog.visited_at >= start, VisitLog.visited_at < end
        )
    )
    for elder_id in done_logs:
        rows[elders[elder_id].building]["_visited"].add(elder_id)
    out = []
    for building in sorted(rows, key=lambda b: (len(b), b)):
        row = rows[building]
        visited = row.pop("_visited")
        row["elders_visited"] = len(visited)
        row["visit_rate"] = _rate(row["done"], row["due"])
        row["elder_coverage"] = _rate(len(visited), row["elders"])
        out.append(row)
    totals = {k: sum(r[k] for r in out) for k in ("elders", "due", "done", "missed", "elders_visited")}
    totals["visit_rate"] = _rate(totals["done"], totals["due"])
    totals["elder_coverage"] = _rate(totals["elders_visited"], totals["elders"])
    return {"community": community, "month": month, "target_rate": 1.0, "buildings": out, "total": totals}


def idle_volunteers(session: Session, now: datetime, days: int = 30, r: Reach | None = None) -> list[dict]:
    """Active volunteers (of ``r``'s reach, if given) without any logged visit in the last ``days`` days."""
    since = now - timedelta(days=days)
    last = dict(
        session.exec(select(VisitLog.volunteer_id, func.max(VisitLog.visited_at)).group_by(VisitLog.volunteer_id)).all()
    )
    out = []
    query = select(Volunteer).where(Volunteer.active.is_(True))
    if r is not None:
        query = query.where(scope.volunteer_clause(r, operational=True))
    for v in session.exec(query.order_by(Volunteer.id)):
        seen = last.get(v.id)
        if seen is None or as_utc(seen) < since:
            out.append({"volunteer_id": v.id, "name": v.name, "team_id": v.team_id, "last_visit": shown(seen)})
    return out


def idle_page(session: Session, r: Reach, now: datetime, days: int, page: PageQuery) -> Page[dict[str, Any]]:
    """A page of :func:`idle_volunteers` in the caller's reach, by volunteer id."""
    return page_in_memory(idle_volunteers(session, now, days, r), page, key=lambda v: (v["volunteer_id"],))


def hours(session: Session, r: Reach, page: PageQuery) -> Page[dict[str, Any]]:
    """Hours given per volunteer in reach (time-bank balance) and their logged visits, by volunteer id."""
    query = select(Volunteer).where(scope.volunteer_clause(r, operational=True))
    shown_volunteers = session.exec(keyset(query, [Volunteer.id], page)).all()
    ids = [v.id for v in shown_volunteers]
    totals = dict(
        session.exec(
            select(TimeBankEntry.volunteer_id, func.sum(TimeBankEntry.hours))
            .where(TimeBankEntry.volunteer_id.in_(ids))
            .group_by(TimeBankEntry.volunteer_id)
        ).all()
    )
    counts = dict(
        session.exec(
            select(VisitLog.volunteer_id, func.count())
            .where(VisitLog.volunteer_id.in_(ids))
            .group_by(VisitLog.volunteer_id)
        ).all()
    )
    return page_of(
        shown_volunteers,
        page,
        key=lambda v: (v.id,),
        view=lambda v: {
            "volunteer_id": v.id,
            "name": v.name,
            "hours": round(totals.get(v.id) or 0.0, 2),
            "visits": counts.get(v.id, 0),
        },
    )


def open_hazards(session: Session, r: Reach, page: PageQuery) -> Page[dict[str, Any]]:
    """Hazards found on visits in reach and not yet resolved, with their repair ticket, oldest first."""
    query = (
        select(Hazard, Elder)
        .join(Elder, Elder.id == Hazard.elder_id)
        .where(Hazard.status != "resolved", scope.elder_clause(r, operational=True))
    )
    rows = session.exec(keyset(query, [Hazard.found_at, Hazard.id], page)).all()
    return page_of(
        rows,
        page,
        key=lambda r: (r[0].found_at, r[0].id),
        view=lambda r: {
            "hazard_id": r[0].id,
            "visit_id": r[0].visit_id,
            "elder_id": r[1].id,
            "building": r[1].building,
            "unit": r[1].unit,
            "category": r[0].category,
            "description": r[0].description,
            "status": r[0].status,
            "ticket_id": r[0].ticket_id,
            "found_at": shown(r[0].found_at),
        },
    )


def team_week(session: Session, team_id: str, start: datetime, end: datetime) -> dict:
    """Counts for a team's weekly digest: visits due/done/missed in ``[start, end)``, open hazards."""
    elder_ids = list(session.exec(select(Elder.id).where(Elder.team_id == team_id)))
    visits = list(
        session.exec(
            select(Visit).where(
                Visit.elder_id.in_(elder_ids),
                Visit.due_at >= start,
                Visit.due_at < end,
                Visit.kind.in_(SCHEDULED_KINDS),
                Visit.status != "cancelled",
            )
        )
    )
    hazards = session.exec(
        select(func.count()).select_from(Hazard).where(Hazard.elder_id.in_(elder_ids), Hazard.status != "resolved")
    ).one()
    return {
        "visits_due": len(visits),
        "visits_done": sum(v.status == "done" for v in visits),
        "visits_missed": sum(v.status == "missed" for v in visits),
        "open_hazards": hazards,
    }
