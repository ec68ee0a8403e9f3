"""Alembic environment of the tickets service."""

from services.tickets.adapters.orm import metadata
from shared.db.alembic_env import run

run(metadata)
