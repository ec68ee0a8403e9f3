"""Three processes of one service started at once on a fresh database all come up: migrations take turns.

Every ``linli run <service>`` migrates its store as it starts (compose's one-shot ``migrate`` runs first, but a
replica scaled up, or a deployment without it, starts on its own). Without a lock two of three replicas on a fresh
PostgreSQL database exited with ``UniqueViolation`` creating ``alembic_version`` (4 tries out of 4, issue #17).
These are OS processes started exactly as compose's ``command`` starts them, not threads of one interpreter.
"""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text

from shared.db.engine import normalize_url
from tests.gateway.deployment import ServiceProcess


def test_three_replicas_starting_at_once_on_a_fresh_postgresql_database_all_come_up(
    tmp_path, pg_database, redis_url, prefix
):
    """Fails without the advisory lock in ``shared/db/migrations.py`` (``UniqueViolation`` on ``alembic_version``).
    SQLite needs no lock of its own: its migration runs in one ``BEGIN IMMEDIATE`` transaction, which the file's
    write lock serializes (tried here with three processes on one file, not kept in the suite for its cost)."""
    url = pg_database("lock_tickets")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINLI_", "REDIS_")) and "_DATABASE_URL" not in k}
    env |= {
        "REDIS_URL": redis_url,
        "LINLI_STREAM_PREFIX": prefix,
        "TICKETS_DATABASE_URL": url,
        "LINLI_LOG_JSON": "true",
    }
    replicas = []
    for n in range(3):
        folder = tmp_path / f"replica{n}"
        folder.mkdir()
        replicas.append(ServiceProcess("tickets", {**env, "LINLI_CONSUMER_NAME": f"r{n}"}, folder))
    try:
        for replica in replicas:  # started together: each migrates the same fresh store as it comes up
            replica.start()
        for replica in replicas:
            replica.wait_ready(timeout=120)  # fails with the log when one exited during its migration
        engine = create_engine(normalize_url(url))
        try:
            with engine.connect() as conn:
                assert len(conn.execute(text("SELECT version_num FROM alembic_version")).all()) == 1
        finally:
            engine.dispose()
    finally:
        for replica in replicas:
            replica.stop()
