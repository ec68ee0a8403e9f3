"""Alembic environment of the volunteers service."""

from services.volunteers.adapters.orm import metadata
from shared.db.alembic_env import run

run(metadata)
