"""When a message may go out: quiet hours, daily digests, rate limits and retry backoff (no I/O)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.clock import as_utc


def parse_hhmm(value: str) -> time:
    """``"22:00"`` -> ``time(22, 0)``; raises ValueError on anything else."""
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes or 0))


def quiet_until(now: datetime, start: str | None, end: str | None, tz: str) -> datetime | None:
    """The UTC end of the quiet period ``now`` falls in (recipient's zone), or None when not quiet.

    Periods may wrap midnight (22:00-07:00).
    """
    if not start or not end:
        return None
    zone = ZoneInfo(tz)
    here = as_utc(now).astimezone(zone)
    s, e = parse_hhmm(start), parse_hhmm(end)
    t = here.time()
    if s == e:
        return None
    inside = (s <= t < e) if s < e else (t >= s or t < e)
    if not inside:
        return None
    end_day = here.date() if t < e else here.date() + timedelta(days=1)
    return datetime.combine(end_day, e, tzinfo=zone).astimezone(UTC)


def next_digest(now: datetime, hour: int, tz: str) -> datetime:
    """The next daily digest time (``hour``:00 in the recipient's zone) strictly after ``now``, in UTC."""
    zone = ZoneInfo(tz)
    here = as_utc(now).astimezone(zone)
    at = datetime.combine(here.date(), time(hour), tzinfo=zone)
    if at <= here:
        at = datetime.combine(here.date() + timedelta(days=1), time(hour), tzinfo=zone)
    return at.astimezone(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits ``base * factor**(n-1)`` ± ``jitter``.

    The default (6 attempts, 60 s doubling) spreads the attempts over about 31 minutes.
    """

    max_attempts: int = 6
    base_seconds: float = 60.0
    factor: float = 2.0
    jitter: float = 0.2
    lease_seconds: float = 300.0

    def delay(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        """Wait before the next attempt, after ``attempts`` failed ones."""
        raw = self.base_seconds * self.factor ** max(attempts - 1, 0)
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return timedelta(seconds=raw * (1 + spread))

    def total(self) -> timedelta:
        """The nominal span from the first to the last attempt."""
        return timedelta(seconds=sum(self.base_seconds * self.factor**i for i in range(self.max_attempts - 1)))
