"""Who may call the volunteers routes, and the bounded query parameters they share."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query
from pydantic import AfterValidator

from shared.web.auth import Principal, allow
from shared.web.fields import printable

Staff = Annotated[Principal, Depends(allow("staff"))]
"""Community staff (teams and their escalation contact)."""
Managers = Annotated[Principal, Depends(allow("staff", "team_leader"))]
"""Staff and team leaders: register, pair, plan, report."""
Members = Annotated[Principal, Depends(allow("staff", "team_leader", "volunteer"))]
"""Anyone of the teams: staff, team leaders, volunteers."""
VolunteerUser = Annotated[Principal, Depends(allow("volunteer"))]
"""A volunteer signed in as themself (their own to-do list)."""

Tier = Literal["high_risk", "key", "general"]


def _printable(value: str | None) -> str | None:
    return value if value is None else printable(value)


CommunityFilter = Annotated[str | None, Query(min_length=1, max_length=64), AfterValidator(_printable)]
"""An optional community filter (a community code or name)."""
BuildingFilter = Annotated[str | None, Query(min_length=1, max_length=32), AfterValidator(_printable)]
Community = Annotated[str, Query(min_length=1, max_length=64), AfterValidator(printable)]
"""A required community (reports and the survey are per community)."""
