"""Shared fixtures: real Redis and PostgreSQL (the machine's, or testcontainers where Docker runs),
a unique stream prefix per test, and in-process runtimes with an HTTP client."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC

import httpx
import pytest
import redis as sync_redis

from host.runtime import Runtime
from shared.clock import ManualClock
from shared.config import Settings
from shared.web.auth import mint_token


def _session_signing_key() -> str:
    """The session's accounts signing key file (``LINLI_SIGNING_KEY_FILE``), set before any settings are
    read: ``token()`` signs with it, every test runtime's accounts adopts it and lone services verify by
    its public half, so tokens minted at import time verify by the JWKS in every test."""
    if os.environ.get("LINLI_SIGNING_KEY_FILE"):
        return os.environ["LINLI_SIGNING_KEY_FILE"]
    folder = tempfile.mkdtemp(prefix="linli-test-keys-")
    atexit.register(shutil.rmtree, folder, True)
    os.environ["LINLI_SIGNING_KEY_FILE"] = path = os.path.join(folder, "signing-key.jwk")
    return path


SIGNING_KEY_FILE = _session_signing_key()
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def _docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def _redis_ok(url: str) -> bool:
    try:
        sync_redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return True
    except sync_redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    """REDIS_URL if it answers; otherwise a testcontainers Redis where Docker exists."""
    url = os.environ.get("REDIS_URL", DEFAULT_REDIS)
    if _redis_ok(url):
        return url
    if not _docker_available():
        pytest.fail(f"No Redis at {url} and no Docker for testcontainers: start redis-server or set REDIS_URL")
    from testcontainers.redis import RedisContainer

    container = RedisContainer("redis:7-alpine").start()
    return f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """A PostgreSQL URL on which test databases can be created."""
    url = os.environ.get("LINLI_TEST_POSTGRES_URL", DEFAULT_PG)
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=2).close()
        return url
    except psycopg.Error:
        if not _docker_available():
            pytest.fail(f"No PostgreSQL at {url} and no Docker for testcontainers")
    from testcontainers.postgres import PostgresContainer

    container = PostgresContainer("postgres:15-alpine").start()
    return container.get_connection_url(driver=None)


@pytest.fixture
def pg_database(postgres_admin_url) -> Callable[[str], str]:
    """Factory: a fresh PostgreSQL database per call, dropped after the test."""
    import psycopg

    created: list[str] = []

    def make(label: str = "db") -> str:
        name = f"linli_{label}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        base, _, _ = postgres_admin_url.rpartition("/")
        return f"{base}/{name}"

    yield make
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def prefix(redis_url) -> str:
    """A unique stream/key prefix; every key under it is deleted after the test."""
    value = f"t{uuid.uuid4().hex[:10]}"
    yield value
    client = sync_redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{value}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def settings(redis_url, prefix, tmp_path) -> Settings:
    """Settings for one test: its own prefix and SQLite files, fast retries."""
    return Settings(
        redis_url=redis_url,
        stream_prefix=prefix,
        var_dir=tmp_path / "var",
        consumer_name="c1",
        retry_base_ms=50,
        retry_max_ms=400,
        claim_idle_ms=1000,
        reclaim_interval_ms=50,
        max_deliveries=5,
        log_json=False,
    )


@pytest.fixture
def clock() -> ManualClock:
    from datetime import datetime

    return ManualClock(datetime(2026, 11, 28, 2, 0, tzinfo=UTC))


def token(sub: str, *roles: str, **claims) -> dict[str, str]:
    """Authorization header for a principal, signed with accounts' key (the session's key file).

    Staff and operators minted without communities are city-wide (``*``), as most tests act as a
    district's staff; the scope tests mint narrower callers explicitly.
    """
    if {"staff", "operator"} & set(roles) and "community" not in claims and "communities" not in claims:
        claims["communities"] = ["*"]
    return {"Authorization": f"Bearer {mint_token(sub, roles, **claims)}"}


@pytest.fixture
def start_runtime(settings) -> Callable:
    """``async with start_runtime(["tickets", "notify"]) as (runtime, client)``: services in-process.

    Targets are service names or :class:`ServiceModule` objects (test probes).
    """
    from host import catalog

    @asynccontextmanager
    async def starter(
        targets, *, settings_override: Settings | None = None, clock=None, run_tickers=False, **changes
    ) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
        s = (settings_override or settings).model_copy(update=changes)
        modules = [t for t in targets if not isinstance(t, str)]
        modules += (
            catalog.load([t for t in targets if isinstance(t, str)]) if any(isinstance(t, str) for t in targets) else []
        )
        from ops.console import build_console_router

        runtime = Runtime(
            modules, settings=s, clock=clock, run_tickers=run_tickers, extra_routers=[build_console_router]
        )
        app = runtime.build_app()
        async with runtime.running():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://linli.test") as client:
                yield runtime, client

    return starter


async def eventually(check, timeout: float = 10.0, interval: float = 0.05):
    """Poll ``check`` (sync or async) until it returns a truthy value; fail after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    last = None
    while asyncio.get_running_loop().time() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


@pytest.fixture
def private_redis(tmp_path):
    """A private ``redis-server`` on a free port that a test may stop, restart or flush."""
    from tests.support.redis_server import RedisServer

    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()
