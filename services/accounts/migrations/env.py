"""Alembic environment of the accounts service."""

from services.accounts.adapters.orm import metadata
from shared.db.alembic_env import run

run(metadata)
