"""Who may take a place: the sign-up window, the age range, guardians, household and no-show limits."""

from __future__ import annotations

from datetime import datetime

AGE_GROUPS = ((0, 6, "0-6"), (7, 12, "7-12"), (13, 17, "13-17"), (18, 59, "18-59"), (60, 200, "60+"))


def window_problem(now: datetime, opens: datetime | None, closes: datetime | None, starts: datetime) -> str | None:
    """``not_open_yet``, ``closed`` or None: sign-ups close at the latest when the session starts."""
    if opens is not None and now < opens:
        return "not_open_yet"
    if now >= (closes if closes is not None and closes < starts else starts):
        return "closed"
    return None


def age_problem(age: int | None, min_age: int | None, max_age: int | None) -> str | None:
    """``age_required`` when a range is set and no age given, ``age_out_of_range``, or None."""
    if min_age is None and max_age is None:
        return None
    if age is None:
        return "age_required"
    if (min_age is not None and age < min_age) or (max_age is not None and age > max_age):
        return "age_out_of_range"
    return None


def needs_guardian(age: int | None, guardian_under: int | None) -> bool:
    """A child under the room's guardian age comes with an adult."""
    return guardian_under is not None and age is not None and age < guardian_under


def age_group(age: int | None) -> str:
    """The report's age band of an age (``unknown`` when none was given)."""
    if age is None:
        return "unknown"
    return next((label for low, high, label in AGE_GROUPS if low <= age <= high), "unknown")
