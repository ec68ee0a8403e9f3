"""Replicas that start at once on a fresh PostgreSQL database all migrate it, once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from host import catalog
from shared.db.engine import make_engine
from shared.db.migrations import upgrade


@pytest.mark.parametrize("service", ["tickets", "library", "volunteers", "notify"])
def test_replicas_starting_together_migrate_a_fresh_store_once(service, pg_database):
    url = pg_database(f"mig_{service}")
    module = catalog.load([service])[0]
    engines = [make_engine(url) for _ in range(3)]
    ready = threading.Barrier(len(engines))
    failures: list[BaseException] = []

    def start(engine) -> None:
        ready.wait()
        try:
            upgrade(service, module.migrations, engine)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert not failures, [f"{e.__class__.__name__}: {str(e)[:200]}" for e in failures]
        with engines[0].connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert len(versions) == 1
    finally:
        for engine in engines:
            engine.dispose()
