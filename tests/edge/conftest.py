"""A real ``linli run`` (every service, one process) for the edge's contract and fuzz tests."""

from __future__ import annotations

import os
import uuid

import pytest

from shared.web.auth import ROLES, mint_token
from tests.support.processes import LinliProcess


@pytest.fixture(scope="session")
def linli_all(tmp_path_factory, redis_url):
    """``linli run`` of all services on a free port with its own stream prefix and stores; demo data loaded."""
    import subprocess
    import sys

    from tests.support.processes import REPO

    folder = tmp_path_factory.mktemp("edge")
    env = {
        "REDIS_URL": redis_url,
        "LINLI_STREAM_PREFIX": f"t{uuid.uuid4().hex[:10]}",
        "LINLI_VAR_DIR": str(folder / "var"),
        "LINLI_LOG_JSON": "false",
        "LINLI_LOG_LEVEL": "WARNING",
    }
    for service in ("tickets", "library", "volunteers", "notify"):
        env.pop(f"{service.upper()}_DATABASE_URL", None)
    full_env = {**os.environ, **env}
    subprocess.run(
        [sys.executable, "-m", "host.cli", "db", "upgrade"], cwd=REPO, env=full_env, check=True, capture_output=True
    )
    subprocess.run([sys.executable, "-m", "host.cli", "demo"], cwd=REPO, env=full_env, check=True, capture_output=True)
    process = LinliProcess([], env, folder / "linli.log")
    process.start(timeout=180)  # six services migrate and start; slow on a loaded 2-core machine
    yield process
    process.stop()


@pytest.fixture(scope="session")
def all_roles() -> dict[str, str]:
    """A bearer token holding every role, so that every operation is reached past its role check."""
    token = mint_token("staff:fuzz", list(ROLES), name="测试", community="zhihuicheng")
    return {"Authorization": f"Bearer {token}"}


def pytest_collection_modifyitems(items):
    """The fuzz test runs last. It shares the one ``linli run`` (:func:`linli_all`) with the scope matrix and
    leaves it in any state its random inputs allow (a city-wide rule of 0 loans, teams and elders changed),
    which the matrix's seeded records must not depend on; nothing runs after it on that process."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/edge/test_fuzz.py"))
