"""Categories (Open311 services) as data: list and upsert by staff."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlmodel import Session, col, select

from services.tickets.adapters.orm import Category
from services.tickets.service_layer.common import forget_category, get_category
from shared.errors import NotFound

EDITABLE = (
    "name",
    "name_en",
    "description",
    "group",
    "keywords",
    "safety_critical",
    "in_home",
    "response_hours",
    "resolution_hours",
    "pool",
    "supervisor",
    "secretary",
    "attributes",
    "templates",
    "active",
)


def list_categories(session: Session, include_inactive: bool = False) -> list[Category]:
    """Every (active) category by group and code (the demo and Open311's service list; the API pages them)."""
    query = select(Category)
    if not include_inactive:
        query = query.where(Category.active == True)  # noqa: E712
    return list(session.exec(query.order_by(col(Category.group), col(Category.code))).all())


def find(session: Session, code: str) -> Category | None:
    """A category as stored (active or not), ``None`` when there is none."""
    return session.get(Category, code)


def active(session: Session, code: str) -> Category:
    """An active category read from the store (not this process's copy: its ETag must be current), or 404."""
    row = session.get(Category, code)
    if row is None or not row.active:
        raise NotFound("类别不存在 / no such category")
    return row


def upsert(session: Session, code: str, values: dict[str, Any]) -> Category:
    """Create or change a category; only the given fields change (validated at the edge: ``CategoryIn``)."""
    forget_category(code)
    event.listen(session, "after_commit", lambda _s: forget_category(code), once=True)  # a read in between
    category = session.get(Category, code) or Category(code=code, name=values.get("name") or code)
    for key in EDITABLE:
        if key in values and values[key] is not None:
            setattr(category, key, values[key])
    session.add(category)
    return category


def templates_of(session: Session, code: str) -> dict[str, list[str]]:
    """A category's response templates per state."""
    return dict(get_category(session, code).templates or {})
