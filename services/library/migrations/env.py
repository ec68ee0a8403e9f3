"""Alembic environment of the library service."""

from services.library.adapters.orm import metadata
from shared.db.alembic_env import run

run(metadata)
