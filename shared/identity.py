"""Who is calling and what they may reach: the :class:`Principal` and its scopes.

Roles say *what kind* of caller this is; scopes say *which* records it may touch: the communities a
staff member serves, the team a leader leads, the household a resident belongs to. The service layer
takes a principal and filters by it (PIPL: the least data for the purpose), so this module knows
nothing about HTTP; ``shared.web.auth`` turns a bearer token into one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ROLES = ("resident", "staff", "volunteer", "team_leader", "operator", "partner")

EVERY_COMMUNITY = "*"
"""In ``communities``: a city-wide caller (the district office, the 12345 hotline's dispatchers)."""

ScopeKind = Literal["all", "community", "team", "pairing", "household", "self", "institution"]
"""How a route narrows what one role reaches, declared on the route (``allow(staff="community")``):

- ``all``: everything of its kind (operators on operational data, city-wide reference data);
- ``community``: records of the communities the caller serves (``Principal.serves``);
- ``team``: the team a leader leads; ``pairing``: the elders a volunteer is paired with;
- ``household``: the caller's household; ``self``: the caller's own records (by ``sub``);
- ``institution``: a partner's own institution (its ``sub``).
"""
SCOPE_KINDS: tuple[str, ...] = ScopeKind.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Principal:
    """The caller: ``sub`` is a stable opaque id (``resident:zhao-xiaotong``), never a phone or ID number.

    ``communities`` holds the communities a staff member serves (``*`` for all) or the one a resident
    or volunteer lives in; an empty set reaches no community's records.
    """

    sub: str
    roles: frozenset[str] = field(default_factory=frozenset)
    name: str | None = None
    communities: frozenset[str] = field(default_factory=frozenset)
    team: str | None = None
    household: str | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def community(self) -> str | None:
        """The caller's one community (a resident's home), or ``None`` when it has none or several."""
        if len(self.communities) == 1 and EVERY_COMMUNITY not in self.communities:
            return next(iter(self.communities))
        return None

    @property
    def city_wide(self) -> bool:
        return EVERY_COMMUNITY in self.communities

    def serves(self, community: str | None) -> bool:
        """Whether a record of ``community`` is inside this caller's communities."""
        return self.city_wide or (community is not None and community in self.communities)

    def community_filter(self) -> frozenset[str] | None:
        """For queries: ``None`` when every community is reachable, else the set to filter by."""
        return None if self.city_wide else self.communities
