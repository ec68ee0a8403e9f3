"""Every volunteers test runs twice: on SQLite (the default store) and on PostgreSQL (production's)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, params=["sqlite", "postgresql"])
def volunteers_store(request, monkeypatch) -> str:
    """Which store the volunteers service uses in this test run."""
    if request.param == "postgresql":
        monkeypatch.setenv("VOLUNTEERS_DATABASE_URL", request.getfixturevalue("pg_database")("volunteers"))
    return request.param
