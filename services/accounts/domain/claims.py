"""What a person's access token says: roles and scopes, as ``shared.web.auth`` reads them back.

A rule written as data: each role grant adds its role and its scope to the claims; a home adds
``resident`` with the household and its community.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GRANTABLE = ("staff", "team_leader", "volunteer", "partner", "operator")
"""Roles given by a grant; ``resident`` comes from living in a household of the register."""

SCOPE_OF = {
    "staff": "community",
    "team_leader": "team",
    "volunteer": "community",
    "partner": "institution",
    "operator": None,
}
"""The scope each grant must name (``community`` for staff, ``*`` allowed: city-wide)."""


@dataclass(frozen=True)
class Grant:
    role: str
    community: str | None = None
    team: str | None = None
    institution: str | None = None


COMMUNITY_STAFF = frozenset({"staff"})
"""Roles whose ``communities`` claim means the communities they serve."""


def claims_for(
    sub: str, name: str, household: str | None, home_community: str | None, grants: Iterable[Grant]
) -> dict[str, Any]:
    """The scope claims of one person (``sub``, ``roles``, ``name``, ``communities``, ``team``, ``household``).

    ``communities`` is what every service reads as the communities served, so a staff member's home is left
    out: staff of 北翟营 who live in 3502 must not get staff rights over 3502 (their household still names
    their home for resident routes).
    """
    grants = list(grants)
    roles: set[str] = set()
    communities: set[str] = set()
    team: str | None = None
    if household is not None:
        roles.add("resident")
        if home_community and not any(grant.role in COMMUNITY_STAFF for grant in grants):
            communities.add(home_community)
    for grant in grants:
        roles.add(grant.role)
        if grant.community:
            communities.add(grant.community)
        if grant.team and (team is None or grant.role == "team_leader"):
            team = grant.team
    claims: dict[str, Any] = {"sub": sub, "roles": sorted(roles), "name": name}
    if communities:
        claims["communities"] = sorted(communities)
    if team:
        claims["team"] = team
    if household:
        claims["household"] = household
    return claims


def scope_key(grant: Grant) -> str:
    """One string per scope, so a person holds a role once per community, team or institution."""
    return "|".join(part or "" for part in (grant.community, grant.team, grant.institution))
