"""Which recipients and deliveries a staff member reaches: those of the communities they serve.

Residents, volunteers and everyone else reach only their own inbox and preferences (by ``sub``);
staff reach the recipients registered in their communities and the deliveries to them; operators
reach all (issue 15). Outside one's reach a recipient answers 404, as if it were not registered.
"""

from __future__ import annotations

from shared.errors import Forbidden
from shared.identity import Principal


def communities_of(who: Principal) -> frozenset[str] | None:
    """The communities to filter by, or ``None`` for every one (operators, city-wide staff)."""
    return None if who.has("operator") else who.community_filter()


def reaches(communities: frozenset[str] | None, community: str | None) -> bool:
    return communities is None or (community is not None and community in communities)


def may_register(communities: frozenset[str] | None, community: str | None) -> None:
    """Staff register recipients only in communities they serve."""
    if not reaches(communities, community):
        raise Forbidden("不能登记未负责社区的接收人 / you do not serve this community", code="out_of_scope")
