"""Fixtures of the reliability suite: private servers per module and the figures each test measures.

Every scenario takes down only servers it started itself (a private redis-server, a private
PostgreSQL cluster made with ``initdb``); the machine's shared Redis and PostgreSQL are never
stopped or flushed. Each test records what it measured with :func:`record`: a JSON file under the
test's tmp dir, a line on stdout, and, when ``LINLI_RELIABILITY_FIGURES`` names a file, a line
appended there (docs/reliability.md quotes a real run).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.postgres_server import PostgresServer


@pytest.fixture(scope="module")
def private_postgres():
    """A private PostgreSQL cluster for the module, which a test may stop and start."""
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def record(tmp_path, request):
    """``record(figures)``: keep the figures a test measured (see the module docstring)."""

    def write(figures: dict[str, Any]) -> dict[str, Any]:
        line = {"scenario": request.node.name, **figures}
        (tmp_path / "figures.json").write_text(json.dumps(line, ensure_ascii=False, indent=2))
        print(f"\nreliability figures: {json.dumps(line, ensure_ascii=False)}")
        target = os.environ.get("LINLI_RELIABILITY_FIGURES")
        if target:
            with Path(target).open("a", encoding="utf-8") as out:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        return line

    return write
