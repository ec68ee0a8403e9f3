"""Who reaches which ticket: staff the communities they serve, operators all, reporters their own.

Every read and command of a ticket on behalf of a caller goes through here (issue 15): a staff member
of 北翟营 neither lists nor acts on 明珠花苑's tickets. A ticket outside the caller's reach answers
404, as if it did not exist, so ids cannot be probed.
"""

from __future__ import annotations

from sqlmodel import Session

from services.tickets.adapters.orm import Category, Ticket
from services.tickets.domain import disclosure
from services.tickets.service_layer.common import get_ticket
from shared.errors import Forbidden, NotFound
from shared.identity import Principal


def is_staff(who: Principal) -> bool:
    """Staff or operator: the callers who see full views of the tickets they reach."""
    return who.has("staff", "operator")


def communities_of(who: Principal) -> frozenset[str] | None:
    """For staff queries: the communities to filter by, or ``None`` for every one (operators, city-wide staff)."""
    return None if who.has("operator") else who.community_filter()


def serves(who: Principal, ticket: Ticket) -> bool:
    """Whether ``who`` acts as staff on ``ticket`` (an operator on every one)."""
    if who.has("operator"):
        return True
    return who.has("staff") and who.serves(ticket.community)


def entitled(who: Principal, ticket: Ticket) -> bool:
    """Whether ``who`` sees the full ticket: staff serving its community, or its reporter."""
    return serves(who, ticket) or (ticket.reporter is not None and ticket.reporter == who.sub)


def is_private(ticket: Ticket, category: Category | None) -> bool:
    """Whether public views hide the ticket's place and contents (:mod:`services.tickets.domain.disclosure`)."""
    return disclosure.home_private(
        via=ticket.via, source_hazard_id=ticket.source_hazard_id, in_home=bool(category and category.in_home)
    )


def staff_ticket(session: Session, ticket_id: str, who: Principal) -> Ticket:
    """The ticket a staff action is about; 404 outside the caller's communities."""
    ticket = get_ticket(session, ticket_id)
    if not serves(who, ticket):
        raise NotFound(f"工单不存在 / no ticket {ticket_id}")
    return ticket


def may_file(who: Principal, community: str | None) -> None:
    """Staff file reports only for communities they serve (residents and operators file anywhere)."""
    if who.has("operator") or not who.has("staff") or who.has("resident"):
        return
    if not who.serves(community):
        raise Forbidden("不能为未负责的社区报事 / you do not serve this community", code="out_of_scope")
