"""One private Redis Cluster per test module (three masters, a replica each), see ``cluster.py``."""

from __future__ import annotations

import pytest

from tests.cluster.cluster import RedisCluster
from tests.reliability.conftest import record  # noqa: F401 - the figures fixture, as in tests/reliability


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory):
    cluster = RedisCluster(tmp_path_factory.mktemp("cluster"))
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def on_cluster(redis_cluster):
    """Runtime settings changes that put a test's runtime on the cluster."""
    return {"redis_url": redis_cluster.url, "redis_cluster": True}
