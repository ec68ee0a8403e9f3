"""Per-service stores: engines, the unit of work, Alembic migrations."""

from shared.db.engine import make_engine, normalize_url
from shared.db.store import Store

__all__ = ["Store", "make_engine", "normalize_url"]
