"""Staff KPIs in the 12345 hotline's terms, per category and month (Asia/Shanghai months)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlmodel import Session, col, select

from services.tickets.adapters.orm import Ticket
from services.tickets.domain import kpi
from services.tickets.domain.lifecycle import OPEN_STATES
from services.tickets.service_layer.views import KpiView
from shared.clock import as_utc, local


def compute(
    session: Session,
    now: datetime,
    *,
    month: str | None = None,
    category: str | None = None,
    community: str | None = None,
    communities: frozenset[str] | None = None,
) -> KpiView:
    """Per category and month: 响应及时率 (response within deadline), 办结率 (resolution rate),
    满意率 (satisfaction: ratings of 4-5 among rated), median and p90 minutes to first response;
    and the open backlog by age. ``communities`` (a staff member's scope) counts only their tickets."""
    query = select(Ticket)
    if category:
        query = query.where(Ticket.category == category)
    if community:
        query = query.where(Ticket.community == community)
    if communities is not None:
        query = query.where(col(Ticket.community).in_(sorted(communities)))
    tickets = session.exec(query.order_by(col(Ticket.created_at))).all()
    groups: dict[tuple[str, str], list[Ticket]] = defaultdict(list)
    backlog: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t in tickets:
        key_month = local(t.created_at).strftime("%Y-%m")
        if month is None or key_month == month:
            groups[(t.category, key_month)].append(t)
        if t.status in OPEN_STATES:
            age_days = (now - as_utc(t.created_at)).total_seconds() / 86400
            backlog[t.category][kpi.age_bucket(age_days)] += 1
    rows = []
    for (cat, key_month), items in sorted(groups.items()):
        responded = [t for t in items if t.acknowledged_at is not None]
        in_time = [
            t
            for t in responded
            if t.first_response_due is None or as_utc(t.acknowledged_at) <= as_utc(t.first_response_due)
        ]
        resolved = [t for t in items if t.resolved_at is not None or t.close_reason in ("confirmed", "auto_closed")]
        rated = [t for t in items if t.rating is not None]
        satisfied = [t for t in rated if t.rating >= 4]
        minutes = [(as_utc(t.acknowledged_at) - as_utc(t.created_at)).total_seconds() / 60 for t in responded]
        median, p90 = kpi.median_p90(minutes)
        rows.append(
            {
                "category": cat,
                "month": key_month,
                "total": len(items),
                "responded": len(responded),
                "response_within_deadline_rate": kpi.rate(len(in_time), len(items)),
                "resolution_rate": kpi.rate(len(resolved), len(items)),
                "satisfaction_rate": kpi.rate(len(satisfied), len(rated)),
                "rated": len(rated),
                "median_first_response_minutes": median,
                "p90_first_response_minutes": p90,
            }
        )
    return KpiView.model_validate(
        {"generated_at": now, "rows": rows, "backlog": {cat: dict(buckets) for cat, buckets in sorted(backlog.items())}}
    )
