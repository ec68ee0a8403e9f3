"""When an activity happens: occurrences of an RRULE (dateutil) and whether a room is open then.

Only DAILY, WEEKLY and MONTHLY rules are taken, cut at a year after the first session: a community's
programme is planned a season ahead, and a rule that never matches (the 30th of February) must not
make the expansion loop through the centuries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule, rrulestr

from shared.clock import SHANGHAI

HORIZON = timedelta(days=366)
FREQUENCIES = (DAILY, WEEKLY, MONTHLY)


class ScheduleError(ValueError):
    """A rule that cannot be used; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def occurrences(start: datetime, rule: str | None, limit: int) -> list[datetime]:
    """The start times of an activity: ``start`` alone, or the RRULE's first ``limit`` within a year.

    The rule is read in Asia/Shanghai (``BYDAY=SA`` means a Saturday there) and the results are UTC.
    """
    if not rule:
        return [start.astimezone(UTC)]
    first = start.astimezone(SHANGHAI).replace(tzinfo=None)
    try:
        parsed = rrulestr(rule.removeprefix("RRULE:"), dtstart=first)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        raise ScheduleError("bad_rrule", "重复规则无法解析 / the RRULE cannot be read") from None
    fields = vars(parsed)  # dateutil keeps the rule's parts as private attributes only
    if not isinstance(parsed, rrule) or fields.get("_freq") not in FREQUENCIES:
        raise ScheduleError("bad_rrule", "重复规则只支持按日、周、月 / only DAILY, WEEKLY or MONTHLY rules")
    count = fields.get("_count")
    until = first + HORIZON
    ends = fields.get("_until")
    if ends is not None:
        until = min(until, ends.astimezone(SHANGHAI).replace(tzinfo=None) if ends.tzinfo else ends)
    wanted = limit + 1 if count is None else min(count, limit + 1)
    try:
        found = list(islice(parsed.replace(count=None, until=until), wanted))
    except (ValueError, OverflowError):
        raise ScheduleError("bad_rrule", "重复规则无法展开 / the RRULE cannot be expanded") from None
    if len(found) > limit:
        raise ScheduleError("too_many", f"一次最多发布 {limit} 场 / at most {limit} sessions at once")
    if not found:
        raise ScheduleError("no_occurrence", "重复规则一年内没有日期 / the RRULE gives no date within a year")
    return [moment.replace(tzinfo=SHANGHAI).astimezone(UTC) for moment in found]


@dataclass(frozen=True)
class Opening:
    """One weekly opening rule (``weekday`` 0 = Monday), local times."""

    weekday: int
    opens: time
    closes: time


def parse_hhmm(value: str) -> time:
    """``"09:00"`` as a time (the edge's pattern already checked the shape)."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def is_open(start: datetime, end: datetime, rules: Iterable[Opening], closed: Iterable[date]) -> bool:
    """Whether a session from ``start`` to ``end`` lies inside one opening rule on a day the room is not closed.

    A room with no rules at all is taken as always open (a square, a hall booked ad hoc).
    """
    rules = list(rules)
    begin, finish = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
    if begin.date() in set(closed):
        return False
    if not rules:
        return True
    if finish.date() != begin.date():
        return False
    return any(r.weekday == begin.weekday() and r.opens <= begin.time() and finish.time() <= r.closes for r in rules)
