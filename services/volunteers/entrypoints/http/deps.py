"""Who may call the volunteers routes, and the bounded query parameters they share."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query
from pydantic import AfterValidator

from shared.identity import Principal
from shared.web.auth import allow
from shared.web.fields import printable

Staff = Annotated[Principal, Depends(allow(staff="community"))]
"""Community staff (teams and their escalation contact), in the communities they serve."""
Managers = Annotated[Principal, Depends(allow(staff="community", team_leader="team"))]
"""Staff and team leaders: register, pair, plan, report (staff their communities, a leader their team)."""
Members = Annotated[Principal, Depends(allow(staff="community", team_leader="team", volunteer="pairing"))]
"""Anyone of the teams: staff, team leaders, volunteers (the elders they are paired with)."""
Authors = Annotated[Principal, Depends(allow(team_leader="team", volunteer="pairing"))]
"""Who corrects a visit log: its author, or the leader of the elder's team."""
VolunteerUser = Annotated[Principal, Depends(allow(volunteer="pairing"))]
"""A volunteer signed in as themself (their own to-do list)."""
TeamReaders = Annotated[
    Principal, Depends(allow(staff="community", team_leader="team", volunteer="pairing", operator="all"))
]
"""The teams list: the teams' people, and operators (operational data)."""
Reporters = Annotated[Principal, Depends(allow(staff="community", team_leader="team", operator="all"))]
"""Reports: staff and team leaders in their scope, operators over every community (no health data)."""
Auditors = Annotated[Principal, Depends(allow(staff="community", operator="all"))]
"""The access log: staff of the communities they serve, operators."""

Tier = Literal["high_risk", "key", "general"]


def _printable(value: str | None) -> str | None:
    return value if value is None else printable(value)


CommunityFilter = Annotated[str | None, Query(min_length=1, max_length=64), AfterValidator(_printable)]
"""An optional community filter (a community code or name)."""
BuildingFilter = Annotated[str | None, Query(min_length=1, max_length=32), AfterValidator(_printable)]
Community = Annotated[str, Query(min_length=1, max_length=64), AfterValidator(printable)]
"""A required community (reports and the survey are per community)."""
