"""Deadlines and escalation: when a report is due, and whom a breach goes to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Deadlines:
    first_response_due: datetime
    resolution_due: datetime


def deadlines(created_at: datetime, response_hours: float, resolution_hours: float) -> Deadlines:
    """First-response and resolution deadlines counted from the report's creation."""
    return Deadlines(created_at + timedelta(hours=response_hours), created_at + timedelta(hours=resolution_hours))


def breach_level(now: datetime, due: datetime, window: timedelta) -> int:
    """0 before ``due``; 1 once it has passed; 2 once it is overdue by a further ``window`` (second breach)."""
    if now < due:
        return 0
    return 2 if now >= due + window else 1


def escalation_target(level: int, supervisor: str | None, secretary: str | None) -> str | None:
    """Level 1 goes to the category's supervisor, level 2 to the community secretary."""
    if level >= 2:
        return secretary or supervisor
    return supervisor or secretary
