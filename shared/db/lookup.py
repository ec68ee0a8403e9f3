"""Lookups by primary key that answer 404 instead of ``None``."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel import Session

from shared.errors import NotFound

T = TypeVar("T")


def get_or_404(session: Session, model: type[T], key: Any, message: str, *, for_update: bool = False) -> T:
    """The row of ``model`` with primary key ``key``, or :class:`NotFound` with ``message``
    (bilingual, naming the kind of thing, e.g. ``"老人不存在 / no such elder"``)."""
    found = session.get(model, key, with_for_update=for_update or None)
    if found is None:
        raise NotFound(message)
    return found
