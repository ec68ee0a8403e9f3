"""The body of every service's migrations/env.py: run Alembic against that service's metadata."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, MetaData, create_engine, pool


def run(metadata: MetaData) -> None:
    """Run migrations online (with a given or new connection) or offline (SQL script)."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(
            url=url, literal_binds=True, target_metadata=metadata, render_as_batch=True, compare_type=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _run_online(connection, metadata)
        return
    if url is None:  # create_engine would refuse None as well, with a less telling message
        raise RuntimeError("the Alembic config sets no sqlalchemy.url and passes no connection")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run_online(conn, metadata)


def _run_online(connection: Connection, metadata: MetaData) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
