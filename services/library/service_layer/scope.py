"""Who reaches which library records: staff by the communities of their book houses.

Reader cards and the catalogue are city-wide (a card borrows at every book house, a title is the same
everywhere), so any staff member may look up a reader or a title; every look-up of a reader is in
the access log. What happens *at* a branch (lending, returns, arrivals, its copies, the holds picked
up there, the reports) is for the staff of the branch's community and operators. A branch without a
community (a partner library's desk) is for city-wide staff and operators only. Residents reach only
their own card, loans and holds (``readers.by_user``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, or_, select, true
from sqlmodel import Session

from services.library.adapters.orm import Branch
from services.library.service_layer.common import connection
from shared.db.driver import fetch
from shared.errors import Forbidden
from shared.identity import Principal

OUT_OF_SCOPE = "不是您所在社区的书屋 / this book house is not in a community you serve"


def branches_served(session: Session, who: Principal) -> frozenset[str] | None:
    """Codes of the branches ``who`` works at as staff; ``None`` for all (operators, city-wide staff)."""
    if who.has("operator"):
        return None
    served = who.community_filter() if who.has("staff") else frozenset()
    if served is None:
        return None
    if not served:
        return frozenset()
    rows = fetch(connection(session), _SERVED, {"communities": sorted(served)})
    return frozenset(row.code for row in rows)


_B = Branch.__table__.c  # type: ignore[attr-defined]
_SERVED = select(_B.code).where(_B.community.in_(bindparam("communities", expanding=True)))
"""The branches of some communities (built once: each check-out, check-in and arrival by community staff asks)."""


def serves_branch(session: Session, who: Principal, code: str | None) -> bool:
    served = branches_served(session, who)
    return served is None or (code is not None and code in served)


def require_branch(session: Session, who: Principal | None, code: str) -> None:
    """403 ``out_of_scope`` unless ``who`` (``None``: the service itself, an event) serves the branch."""
    if who is not None and not serves_branch(session, who, code):
        raise Forbidden(OUT_OF_SCOPE, code="out_of_scope")


def branch_clause(session: Session, who: Principal, *columns: Any) -> Any:
    """A WHERE clause: any of ``columns`` (branch codes) is a branch ``who`` serves."""
    served = branches_served(session, who)
    if served is None:
        return true()
    return or_(*[column.in_(sorted(served)) for column in columns])
