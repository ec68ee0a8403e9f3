"""The split deployment on this machine: a private Redis with the shipped ACL file and AOF, one PostgreSQL
database and one ``linli run <service>`` OS process per service (as docker-compose's ``command`` starts it,
its port from ``LINLI_HTTP_PORT``), and Debian's nginx with deploy/nginx/ in front."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from tests.gateway.nginx import REPO, Gateway
from tests.support.redis_server import RedisServer, free_port

SERVICES = ("tickets", "library", "volunteers", "notify", "activities")
NOT_STARTED = ("accounts",)  # routed, not started: the gateway's 503 for a service down is tested on it
LINLI = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin" / "linli"
REDIS_PASSWORD = "linli-dev"  # the development password of the ACL file's `linli` user


@dataclass
class ServiceProcess:
    name: str
    env: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> None:
        env = {**self.env, "LINLI_HTTP_PORT": str(self.port)}
        out = open(self.log, "ab")  # noqa: SIM115 - closed with the process
        # cwd is the process's own folder: no .env of the checkout leaks in
        self.proc = subprocess.Popen([str(LINLI), "run", self.name], cwd=self.workdir, env=env, stdout=out, stderr=out)

    def wait_ready(self, timeout: float = 90) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"linli run {self.name} exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"linli run {self.name} not ready: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class Deployment:
    """Start with :meth:`start`, stop with :meth:`stop`; ``gateway.url`` is the one address clients use."""

    def __init__(self, workdir: Path, postgres_admin_url: str, *, extra_env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.admin_url = postgres_admin_url
        self.extra_env = extra_env or {}
        self.databases: list[str] = []
        self.redis = RedisServer(
            workdir / "redis",
            extra_args=["--appendonly", "yes", "--aclfile", str(workdir / "redis" / "users.acl")],
            username="linli",
            password=REDIS_PASSWORD,
        )
        self.services: dict[str, ServiceProcess] = {}
        self.gateway: Gateway | None = None

    @property
    def redis_url(self) -> str:
        return f"redis://linli:{REDIS_PASSWORD}@127.0.0.1:{self.redis.port}/0"

    def _database(self, service: str) -> str:
        name = f"linli_gw_{service}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return f"{self.admin_url.rpartition('/')[0]}/{name}"

    def start(self) -> None:
        (self.workdir / "redis").mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "deploy" / "redis" / "users.acl", self.workdir / "redis" / "users.acl")
        self.redis.start()
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("LINLI_", "REDIS_")) and "_DATABASE_URL" not in k
        }
        env |= {
            "REDIS_URL": self.redis_url,
            "LINLI_HTTP_HOST": "127.0.0.1",
            "LINLI_LOG_JSON": "true",
            "LINLI_CLAIM_IDLE_MS": "2000",
            # accounts is not started here: each service verifies by the public half of accounts' development
            # key file, the one tests' token() signs with (shared/web/jwks.py)
            "LINLI_SIGNING_KEY_FILE": os.environ["LINLI_SIGNING_KEY_FILE"],
            **{f"{s.upper()}_DATABASE_URL": self._database(s) for s in SERVICES},
            **self.extra_env,
        }
        for name in SERVICES:
            folder = self.workdir / name
            folder.mkdir(parents=True, exist_ok=True)
            self.services[name] = ServiceProcess(name, {**env, "LINLI_VAR_DIR": str(folder / "var")}, folder)
        for process in self.services.values():
            process.start()
        for process in self.services.values():
            process.wait_ready()
        upstreams = {name: p.port for name, p in self.services.items()}
        for absent in NOT_STARTED:  # routed by the gateway, but nothing listens there in this deployment
            upstreams[absent] = free_port()
        self.gateway = Gateway(self.workdir / "nginx", upstreams)
        self.gateway.prefix.mkdir(parents=True, exist_ok=True)
        self.gateway.start()

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        for process in self.services.values():
            process.stop()
        self.redis.stop()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self.databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def logs(self) -> str:
        """Every log line of the deployment: the gateway's and each service's."""
        parts = [self.gateway.logs() if self.gateway else ""]
        parts += [p.log.read_text(errors="replace") for p in self.services.values() if p.log.exists()]
        stderr = self.workdir / "nginx" / "logs" / "stderr.log"
        if stderr.exists():
            parts.append(stderr.read_text(errors="replace"))
        return "\n".join(parts)
