"""Injectable time. Everything that schedules asks a :class:`Clock`; tests move a :class:`ManualClock`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    """A clock that only moves when told to (for tests and demos)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Treat naive datetimes (as SQLite returns them) as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local(value: datetime, tz: str | ZoneInfo = SHANGHAI) -> datetime:
    """Show a stored UTC time in a resident's time zone (Asia/Shanghai by default)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return as_utc(value).astimezone(zone)


def shown(value: datetime | None) -> datetime | None:
    """A stored UTC time as people read it, in Asia/Shanghai (views serialize it as ISO 8601 with +08:00)."""
    return as_utc(value).astimezone(SHANGHAI) if value is not None else None
