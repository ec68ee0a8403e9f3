"""Alembic environment of the activities service."""

from services.activities.adapters.orm import metadata
from shared.db.alembic_env import run

run(metadata)
