"""The split deployment on this machine: a private Redis with the shipped ACL file and AOF, one PostgreSQL
database and one ``linli run <service>`` OS process per service (as docker-compose's ``command`` starts it,
its port from ``LINLI_HTTP_PORT``), and Debian's nginx with deploy/nginx/ in front.

As compose sets them: ``LINLI_ENV=production`` (so no service falls back to a development key file) and every
process's ``LINLI_JWKS_URL`` at the accounts process's ``/.well-known/jwks.json``. Sign-in codes go through
``ACCOUNTS_CODE_URL`` to a real SMTP server (:attr:`Deployment.mailbox`), as to a mail-to-SMS bridge. Only
accounts is given the tests' key file (``LINLI_SIGNING_KEY_FILE``): it adopts it as a signing key and publishes
it, so the staff and operator tokens tests mint verify by its JWKS like tokens it issued itself."""

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
from tests.notify.conftest import Mailbox
from tests.support.redis_server import RedisServer, free_port

SERVICES = ("accounts", "tickets", "library", "volunteers", "notify", "activities")
SMS_DOMAIN = "sms.linli.test"
"""Codes are mailed to ``<phone>@sms.linli.test`` (``ACCOUNTS_CODE_URL``), as a mail-to-SMS bridge takes them."""
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
        self.mailbox = Mailbox()
        self._mailbox_started = False

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
        self.mailbox.controller.start()
        self._mailbox_started = True
        for name in SERVICES:
            folder = self.workdir / name
            folder.mkdir(parents=True, exist_ok=True)
            self.services[name] = ServiceProcess(name, {}, folder)
        accounts = self.services["accounts"]
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LINLI_", "REDIS_", "ACCOUNTS_")) and "_DATABASE_URL" not in k
        }
        env |= {
            "LINLI_ENV": "production",
            "LINLI_PII_KEY": uuid.uuid4().hex,
            "REDIS_URL": self.redis_url,
            "LINLI_JWKS_URL": f"http://127.0.0.1:{accounts.port}/.well-known/jwks.json",  # compose: accounts:8000
            "LINLI_HTTP_HOST": "127.0.0.1",
            "LINLI_LOG_JSON": "true",
            "LINLI_CLAIM_IDLE_MS": "2000",
            **{f"{s.upper()}_DATABASE_URL": self._database(s) for s in SERVICES},
            **self.extra_env,
        }
        own = {
            "accounts": {
                "LINLI_SIGNING_KEY_FILE": os.environ["LINLI_SIGNING_KEY_FILE"],  # adopted: tests' token() verifies
                "ACCOUNTS_CODE_URL": f"mailto://127.0.0.1:{self.mailbox.port}?from=accounts@linli.test"
                f"&to={{phone}}@{SMS_DOMAIN}&mode=insecure",
            }
        }
        for name, process in self.services.items():
            process.env = {**env, **own.get(name, {}), "LINLI_VAR_DIR": str(process.workdir / "var")}
            process.start()
        for process in self.services.values():
            process.wait_ready()
        self.gateway = Gateway(self.workdir / "nginx", {name: p.port for name, p in self.services.items()})
        self.gateway.prefix.mkdir(parents=True, exist_ok=True)
        self.gateway.start()

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        for process in self.services.values():
            process.stop()
        if self._mailbox_started:
            self.mailbox.controller.stop()
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
