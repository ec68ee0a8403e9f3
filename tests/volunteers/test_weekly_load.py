"""A plan's visits per week (a volunteer's weekly load) from occurrences expanded once per window (eleventh
session): the same count as dateutil's own expansion of the year, whenever it is asked and in any order."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from services.volunteers.domain.planning import parse_rule, visits_per_week

RULES = (
    "FREQ=WEEKLY",
    "FREQ=WEEKLY;BYDAY=MO,TH",
    "FREQ=MONTHLY",
    "FREQ=MONTHLY;INTERVAL=3",
    "FREQ=DAILY;INTERVAL=10",
    "FREQ=WEEKLY;COUNT=20",
    "FREQ=WEEKLY;UNTIL=20270301T000000Z",
)


def expected(rule: str, anchor: datetime, now: datetime) -> float:
    start = max(now, anchor)
    return len(parse_rule(rule, anchor).between(start, start + timedelta(days=364, seconds=-1), inc=True)) / 52


def test_visits_per_week_is_the_year_dateutil_expands():
    rng = random.Random(22)
    anchor = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, on the 30th (month-end fallback)
    moments = [anchor + timedelta(days=d, hours=h) for d in (-3, 0, 1, 6, 7, 90, 91, 92, 400, 30) for h in (0, 5)]
    moments += [anchor + timedelta(minutes=rng.randrange(0, 900 * 24 * 60)) for _ in range(15)]
    rng.shuffle(moments)  # later and earlier moments in turn: the window moves both ways
    for rule in RULES:
        on_and_before = [anchor + timedelta(days=7 * k, seconds=-s) for k in range(0, 120, 9) for s in (0, 1)]
        for now in moments + on_and_before:  # on an occurrence, and a second before one
            assert visits_per_week(rule, anchor, now) == expected(rule, anchor, now), (rule, now)
