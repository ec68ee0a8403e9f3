"""Visit plans: RFC 5545 recurrence rules (python-dateutil), tiers, grace periods, pauses.

Plans are evaluated in Asia/Shanghai (visits happen at a local hour) and stored in UTC.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache

from dateutil.rrule import rrule, rruleset, rrulestr

from shared.clock import SHANGHAI, as_utc
from shared.errors import Invalid

TIERS = ("high_risk", "key", "general")
DEFAULT_RULES = {
    "high_risk": "FREQ=WEEKLY",  # 高风险：至少每周一次
    "key": "FREQ=MONTHLY",  # 重点：至少每月一次
    "general": "FREQ=MONTHLY;INTERVAL=3",  # 一般：至少每季度一次
}
GRACE = {"high_risk": timedelta(hours=24)}
DEFAULT_GRACE = timedelta(days=2)
VISIT_HOUR = time(9, 0)
HORIZON = timedelta(days=35)
CHECKLIST = [
    "health_mood",
    "daily_needs",
    "family_contact",
    "safety_water",
    "safety_electricity",
    "safety_gas",
    "safety_heating",
    "service_needs",
]


def check_tier(tier: str) -> str:
    """The tier, or :class:`Invalid` when it is not one of high_risk, key, general."""
    if tier not in TIERS:
        raise Invalid(f"照护等级无效 / tier must be one of {', '.join(TIERS)}")
    return tier


def grace_for(tier: str) -> timedelta:
    """How long after a due visit it counts as missed: 24 h for high_risk, else 2 days."""
    return GRACE.get(tier, DEFAULT_GRACE)


def anchor_after(now: datetime) -> datetime:
    """The first visit slot of a new plan: the next 09:00 in Shanghai (within 24 hours of ``now``)."""
    local_now = as_utc(now).astimezone(SHANGHAI)
    slot = datetime.combine(local_now.date(), VISIT_HOUR, tzinfo=SHANGHAI)
    if slot <= local_now:
        slot += timedelta(days=1)
    return slot


def _month_end_safe(text: str, anchor: datetime) -> str:
    """RFC 5545 skips months without the start day (a plan from the 31st skips 30-day months).

    A monthly rule with no day part of its own, started after the 28th, falls back to the month's
    last day instead: ``BYMONTHDAY=<day>,-1;BYSETPOS=1``.
    """
    parts = dict(p.split("=", 1) for p in text.upper().split(";") if "=" in p)
    if (
        parts.get("FREQ") in ("MONTHLY", "YEARLY")
        and anchor.day > 28
        and not {"BYMONTHDAY", "BYDAY", "BYSETPOS", "BYYEARDAY", "BYWEEKNO"} & parts.keys()
    ):
        return f"{text};BYMONTHDAY={anchor.day},-1;BYSETPOS=1"
    return text


@lru_cache(maxsize=1024)
def parse_rule(rule: str, anchor: datetime) -> rrule | rruleset:
    """A dateutil rule for ``rule`` (an RRULE body such as ``FREQ=WEEKLY;BYDAY=MO``) from ``anchor``.

    Kept per plan (a rule without its own cache holds no state between iterations, so one object serves
    every caller): a volunteer's answer expands the plans of every elder paired with them."""
    text = (rule or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text or "\n" in text or "DTSTART" in text.upper():
        raise Invalid("走访计划无效 / give one RRULE such as FREQ=WEEKLY;BYDAY=MO", code="bad_rrule")
    try:
        local_anchor = as_utc(anchor).astimezone(SHANGHAI)
        parsed = rrulestr(_month_end_safe(text, local_anchor), dtstart=local_anchor)
    except (ValueError, TypeError):
        raise Invalid("走访计划无效 / invalid RRULE, e.g. FREQ=WEEKLY;BYDAY=MO", code="bad_rrule") from None
    return parsed


def check_rule(rule: str, anchor: datetime) -> str:
    """Normalise and validate an RRULE; it must recur at least every 92 days (quarterly)."""
    parsed = parse_rule(rule, anchor)
    first = parsed.after(as_utc(anchor) - timedelta(seconds=1), inc=True)
    if first is None:
        raise Invalid("走访计划没有任何日期 / the RRULE yields no visit")
    second = parsed.after(first)
    if second is not None and second - first > timedelta(days=92):
        raise Invalid("走访间隔不得超过一个季度 / visits must recur at least quarterly", code="plan_too_rare")
    text = rule.strip()
    return text[6:] if text.upper().startswith("RRULE:") else text


def occurrences(
    rule: str, anchor: datetime, after: datetime, until: datetime, pauses: Sequence[tuple[datetime, datetime]] = ()
) -> list[datetime]:
    """Visit times (UTC) in ``(after, until]``, skipping those inside a pause ``[start, end)``."""
    parsed = parse_rule(rule, anchor)
    found = parsed.between(as_utc(after), as_utc(until), inc=True)
    out = []
    for when in found:
        when = when.astimezone(UTC)
        if when <= as_utc(after):
            continue
        if any(as_utc(s) <= when < as_utc(e) for s, e in pauses):
            continue
        out.append(when)
    return out


def visits_per_week(rule: str, anchor: datetime, now: datetime) -> float:
    """The average number of visits a plan asks for per week over the coming year."""
    start = max(as_utc(now), as_utc(anchor))
    return _expanded(rule, anchor).count(start, start + timedelta(days=364, seconds=-1)) / 52


WINDOW_AHEAD = timedelta(days=91)
"""How far past a year's end a plan's occurrences are expanded at once (a quarter: re-expanded that often)."""


class _Expansion:
    """The occurrences of one plan over a window, expanded once: a count within it is two bisections.

    dateutil expands a weekly plan's year in about 3 ms (every volunteer's answer counts each paired elder's);
    the occurrences do not depend on when they are counted, so the same window serves until ``now`` moves out
    of it. ``window`` is replaced whole (one assignment), so threads counting at once see one or the other.
    """

    def __init__(self, parsed: rrule | rruleset) -> None:
        self.parsed = parsed
        self.window: tuple[datetime, datetime, tuple[datetime, ...]] | None = None

    def count(self, start: datetime, end: datetime) -> int:
        """How many occurrences fall in ``[start, end]`` (as ``between(start, end, inc=True)`` finds them)."""
        window = self.window
        if window is None or start < window[0] or end > window[1]:
            until = end + WINDOW_AHEAD
            window = self.window = (start, until, tuple(self.parsed.between(start, until, inc=True)))
        found = window[2]
        return bisect_right(found, end) - bisect_left(found, start)


@lru_cache(maxsize=1024)
def _expanded(rule: str, anchor: datetime) -> _Expansion:
    return _Expansion(parse_rule(rule, anchor))
