"""Who reaches which records of the activities service as staff, and which rooms a resident may book.

``Principal.communities`` holds the communities a staff member serves *and* the one a resident or a
volunteer lives in, so a community in it is not yet a right to run that community's rooms: staff
rights need the ``staff`` role (or ``operator``: every community, as the routes declare). Without it,
a volunteer living in 明珠花苑 could offer sittings in another artisan's name.

- **staff** run the rooms, programme, artisans and tickets of the communities they serve;
- **operators** reach every community (``allow(operator="all")``);
- a **resident** books the rooms of their own community for their group (scope ``self``: the
  bookings are theirs), not another community's.

Everything else (an activity's organiser, a sign-up's household, a booking's artisan) is checked where
the record is loaded.
"""

from __future__ import annotations

from shared.errors import Forbidden
from shared.identity import Principal

OUT_OF_SCOPE = "您不负责这个小区 / you do not serve this community"


def serves_as_staff(who: Principal, community: str | None) -> bool:
    """Whether ``who`` runs ``community``'s records: an operator, or staff serving it."""
    return who.has("operator") or (who.has("staff") and who.serves(community))


def require_staff(who: Principal, community: str | None) -> None:
    """403 ``other_community`` unless :func:`serves_as_staff`."""
    if not serves_as_staff(who, community):
        raise Forbidden(OUT_OF_SCOPE, code="other_community")


def may_book_room(who: Principal, community: str) -> bool:
    """Staff of the room's community, or a resident who lives there (a resident's group books its own rooms)."""
    return serves_as_staff(who, community) or (who.has("resident") and who.serves(community))
