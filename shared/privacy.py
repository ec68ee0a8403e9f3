"""The access log (PIPL art. 51, 55): who read which person's sensitive fields, when and why.

A service keeps its own ``access_log`` table (:class:`AccessLog`, like the outbox) in its own store,
and its views call :meth:`AccessLog.record` in the transaction that reads the fields, so a read is
logged exactly when it is answered. A row names the field *group* read (``health``, ``phone``,
``reader_identity``), never the values, so the log itself holds no sensitive data.

Free of FastAPI: ``purpose`` is what the caller was doing (a route such as
``GET /api/volunteers/elders/{elder_id}/health``), given by the view that shows the fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, insert, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from shared.clock import shown
from shared.db.driver import flushed, insert_rows
from shared.identity import Principal

FIELD_GROUPS = ("health", "phone", "emergency_phone", "reader_identity")
"""What a row may say was read; the values themselves are never logged."""


class AccessLog:
    """The ``access_log`` table of one service's store, the call that appends to it, and its query."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = Table(
            "access_log",
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("at", DateTime(timezone=True), nullable=False),
            Column("actor", String(128), nullable=False),
            Column("roles", String(100), nullable=False),
            Column("subject_kind", String(16), nullable=False),
            Column("subject_id", String(64), nullable=False),
            Column("fields", String(64), nullable=False),
            Column("purpose", String(200), nullable=False),
            Column("community", String(64), nullable=True),
        )
        Index("ix_access_log_subject", self.table.c.subject_kind, self.table.c.subject_id)
        Index("ix_access_log_community", self.table.c.community)
        self._insert = insert(self.table)

    def record(
        self,
        session: Session,
        actor: Principal,
        *,
        subject_kind: str,
        subject_id: str,
        fields: Iterable[str],
        purpose: str,
        at: datetime,
        community: str | None = None,
    ) -> None:
        """Log one read of ``fields`` (groups from :data:`FIELD_GROUPS`) of one subject by ``actor``."""
        groups = sorted(set(fields))
        unknown = set(groups) - set(FIELD_GROUPS)
        if unknown:
            raise ValueError(f"unknown field groups {sorted(unknown)}")
        if not groups:
            return
        row = {
            "at": at,
            "actor": actor.sub[:128],
            "roles": ",".join(sorted(actor.roles))[:100],
            "subject_kind": subject_kind,
            "subject_id": subject_id,
            "fields": ",".join(groups),
            "purpose": purpose[:200],
            "community": community,
        }
        if not insert_rows(flushed(session), self.table, [row]):  # SQLite: to the driver (shared/db/driver.py)
            session.execute(self._insert, row)  # built once: a statement built per read cost more than the INSERT

    def query(
        self, reader: Principal, *, subject_kind: str | None = None, subject_id: str | None = None
    ) -> Select[Any]:
        """Rows ``reader`` may see: operators and city-wide staff every row, other staff their communities'
        and their own reads.

        Rows recorded without a community (a reader card is valid at every book house) are, apart from
        the reader's own, for operators and city-wide staff only. Paginate with ``keyset`` on ``id``.
        """
        t = self.table
        stmt = select(t)
        served = reader.community_filter()
        if not reader.has("operator") and served is not None:
            stmt = stmt.where(or_(t.c.community.in_(sorted(served)), t.c.actor == reader.sub))
        if subject_kind:
            stmt = stmt.where(t.c.subject_kind == subject_kind)
        if subject_id:
            stmt = stmt.where(t.c.subject_id == subject_id)
        return stmt


def access_row(row: Any) -> dict[str, Any]:
    """An access-log row as the API shows it (the time in Asia/Shanghai)."""
    return {
        "id": row.id,
        "at": shown(row.at),
        "actor": row.actor,
        "roles": row.roles.split(",") if row.roles else [],
        "subject_kind": row.subject_kind,
        "subject_id": row.subject_id,
        "fields": row.fields.split(","),
        "purpose": row.purpose,
        "community": row.community,
    }
