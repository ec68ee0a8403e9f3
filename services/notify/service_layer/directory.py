"""Recipients and rules as routing reads them, kept in memory between batches.

Every event needs the rule of its type, the staff list and its recipients' preferences. They change
rarely, so each process keeps copies of what routing has read, and at the start of each batch reads
the one-row change counter (:class:`~services.notify.adapters.orm.ConfigVersion`; on SQLite through
the driver, as the inbox's read: 5 µs instead of ~90 through the ORM). Once the counter has moved (a
change made in this process or in another replica, committed with the counter), the copies are dropped
and read again. The number of kept entries is bounded.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlmodel import Session, SQLModel, select

from services.notify.adapters.orm import ConfigVersion
from shared.db.driver import select_rows

MAX_ENTRIES = 5000
_VERSION = select(ConfigVersion.version).where(ConfigVersion.id == 1)
_SQLITE_VERSION = f"SELECT version FROM {ConfigVersion.__tablename__} WHERE id = 1"
_lock = threading.Lock()
_kept: dict[str, tuple[int, dict[Any, Any]]] = {}  # store URL -> (counter, entries)


def entries(session: Session) -> dict[Any, Any]:
    """The cache routing uses in this transaction: shared by the process while the change counter
    stands still (a fresh one for this transaction alone when the store has no counter row)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        version = next(iter(select_rows(connection, _SQLITE_VERSION, ())), (None,))[0]
    else:
        version = session.execute(_VERSION).scalar()
    if version is None:
        return {}
    key = str(connection.engine.url)
    with _lock:
        kept = _kept.get(key)
        if kept is None or kept[0] != version or len(kept[1]) >= MAX_ENTRIES:
            kept = _kept[key] = (version, {})
    return kept[1]


def detached(row: SQLModel | None):
    """A copy of an ORM row that belongs to no session (safe to keep after the transaction)."""
    return None if row is None else type(row).model_validate(row.model_dump())
