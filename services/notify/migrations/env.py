"""Alembic environment of the notify service."""

from services.notify.adapters.orm import metadata
from shared.db.alembic_env import run

run(metadata)
