"""What a community office writes in its year-end summary: sign-ups, attendance and no-shows per age
group for a month, and how many hours each room was in use per week."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from services.activities.adapters.orm import Activity, Signup, Venue
from services.activities.domain.eligibility import AGE_GROUPS, age_group
from services.activities.service_layer.venues import require_serves
from shared.clock import SHANGHAI, as_utc
from shared.identity import Principal


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    year, number = int(month[:4]), int(month[5:])
    start = datetime(year, number, 1, tzinfo=SHANGHAI)
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC)


def monthly(session: Session, who: Principal, community: str, month: str) -> dict[str, Any]:
    """Per age group: places taken, waitlisted, attended, no-shows, of sessions starting in ``month``."""
    require_serves(who, community)
    start, end = _month_bounds(month)
    rows = session.execute(
        select(Signup.age, Signup.status, Signup.attended)
        .join(Activity, Activity.id == Signup.activity_id)
        .where(Activity.community == community, Activity.starts_at >= start, Activity.starts_at < end)
    ).all()
    labels = [label for _low, _high, label in AGE_GROUPS] + ["unknown"]
    groups = {
        label: {"age_group": label, "signups": 0, "waitlisted": 0, "attended": 0, "no_shows": 0} for label in labels
    }
    for age, status, attended in rows:
        g = groups[age_group(age)]
        g["signups"] += 1
        g["waitlisted"] += status == "waitlisted"
        g["attended"] += attended is True
        g["no_shows"] += attended is False
    sessions = session.execute(
        select(Activity.id).where(
            Activity.community == community,
            Activity.starts_at >= start,
            Activity.starts_at < end,
            Activity.status == "published",
        )
    ).all()
    return {"community": community, "month": month, "sessions": len(sessions), "groups": list(groups.values())}


def room_use(session: Session, who: Principal, community: str, month: str) -> dict[str, Any]:
    """Hours of sessions per room and ISO week (Asia/Shanghai) for the weeks starting in ``month``."""
    require_serves(who, community)
    start, end = _month_bounds(month)
    rows = session.execute(
        select(Activity, Venue.name)
        .join(Venue, Venue.id == Activity.venue_id)
        .where(
            Activity.community == community,
            Activity.status == "published",
            Activity.starts_at >= start,
            Activity.starts_at < end,
        )
    ).all()
    use: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0])
    for act, name in rows:
        year, week, _ = as_utc(act.starts_at).astimezone(SHANGHAI).isocalendar()
        key = (f"{year}-W{week:02d}", act.venue_id, name)
        use[key][0] += (as_utc(act.ends_at) - as_utc(act.starts_at)).total_seconds() / 3600
        use[key][1] += 1
    weeks = [
        {"week": week, "venue_id": venue_id, "venue_name": name, "hours": round(hours, 2), "sessions": int(count)}
        for (week, venue_id, name), (hours, count) in sorted(use.items())
    ]
    return {"community": community, "month": month, "weeks": weeks}
