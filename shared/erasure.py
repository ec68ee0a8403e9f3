"""Erasure (PIPL art. 47) and retention: what every service does the same way when personal data must go.

A person's records are kept for statistics with the person replaced by :data:`TOMBSTONE`: one value
for everyone erased, so two erased people's records cannot be linked to each other or back to a
``sub``. :func:`retire` swaps a ``sub`` for the tombstone in the columns a service lists as holding
principal ids (actors, authors, assignees), so each service's erasure module names its columns as
data instead of repeating the updates.

Retention periods are data too (:class:`Rule`): each service lists its rules in
``service_layer/retention.py`` with a default number of days, which an operator changes with
``LINLI_RETENTION_<RULE>_DAYS`` (``LINLI_RETENTION_TICKETS_CLOSED_DAYS=180``; the rule's name upper-cased,
dots as underscores) in the environment or ``.env``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from dotenv import dotenv_values
from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from shared.config import ENV_FILE

TOMBSTONE = "erased"
"""What replaces an erased person's principal id (never a real ``sub``: accounts mints ``person:…``)."""

ERASED_TEXT = "已删除 / erased"
"""What replaces a name or a text an erased person wrote when the column must hold something."""


def retire(session: Session, sub: str, columns: Iterable[InstrumentedAttribute[Any] | ColumnElement[Any]]) -> int:
    """Replace ``sub`` by :data:`TOMBSTONE` wherever one of ``columns`` (model attributes or table columns)
    holds it; the number of rows changed."""
    changed = 0
    for column in columns:
        table = getattr(column, "class_", None) or column.table
        result = session.execute(update(table).where(column == sub).values({column.key: TOMBSTONE}))
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


@dataclass(frozen=True)
class Rule:
    """One retention rule: ``what`` is kept ``days`` after ``after``, then ``then`` happens to it."""

    name: str
    """``<service>.<what>`` (``tickets.closed``): names the override variable."""
    what: str
    after: str
    days: int
    then: str

    @property
    def variable(self) -> str:
        return "LINLI_RETENTION_" + self.name.upper().replace(".", "_").replace("-", "_") + "_DAYS"

    def period(self) -> timedelta:
        """The configured period: the override when set (a whole number of days, 1 or more), else ``days``."""
        raw = os.environ.get(self.variable) or _env_file().get(self.variable)
        if raw is None or not raw.strip():
            return timedelta(days=self.days)
        days = int(raw)
        if days < 1:
            raise ValueError(f"{self.variable} must be at least 1 (days)")
        return timedelta(days=days)

    def cutoff(self, now: datetime) -> datetime:
        """Records whose ``after`` moment is before this are due."""
        return now - self.period()


@cache
def _env_file() -> dict[str, str | None]:
    return dotenv_values(ENV_FILE) if os.path.exists(ENV_FILE) else {}


def policy_rows(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    """The rules as rows (what docs/privacy.md and ``linli`` show), with the period in force."""
    return [
        {"rule": r.name, "what": r.what, "after": r.after, "days": r.period().days, "then": r.then, "env": r.variable}
        for r in rules
    ]
