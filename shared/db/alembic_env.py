"""The body of every service's migrations/env.py: run Alembic against that service's metadata."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine, pool


def run(metadata: MetaData) -> None:
    """Run migrations online (with a given or new connection) or offline (SQL script)."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    opts = dict(target_metadata=metadata, render_as_batch=True, compare_type=True)
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **opts)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **opts)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, **opts)
        with context.begin_transaction():
            context.run_migrations()
