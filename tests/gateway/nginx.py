"""Debian's nginx running the repo's gateway configuration (deploy/nginx/) under a temporary prefix.

The Linli files are copied as they are; only what differs on this machine is written here: the process-level
main file (pid, logs and temp folders in the prefix, no daemon), the upstreams (loopback ports of the
processes the test started) and the listening ports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.redis_server import free_port

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "nginx"
NGINX = "/usr/sbin/nginx"
MIME = "/etc/nginx/mime.types"


def nginx_binary() -> str:
    """Debian's nginx, or a failure that says how to get it (CI installs it through .ci/run)."""
    found = shutil.which("nginx") or (NGINX if Path(NGINX).exists() else None)
    if found is None:
        raise AssertionError("nginx is not installed: `apt-get install -y nginx` (.ci/run installs it)")
    return found


class Gateway:
    """One nginx process: ``start()`` renders the prefix and waits until it answers."""

    def __init__(self, prefix: Path, upstreams: dict[str, int], *, tls: tuple[Path, Path] | None = None) -> None:
        self.prefix = prefix
        self.upstreams = upstreams
        self.port = free_port()
        self.tls = tls
        self.tls_port = free_port() if tls else None
        self.redirect_port = free_port() if tls else None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.prefix / "logs" / "access.log"

    @property
    def error_log(self) -> Path:
        return self.prefix / "logs" / "error.log"

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in (self.access_log, self.error_log) if p.exists())

    def render(self) -> Path:
        linli = self.prefix / "linli"
        shutil.copytree(DEPLOY, linli, dirs_exist_ok=True)
        shutil.copytree(REPO / "docs" / "openapi", self.prefix / "linli-openapi", dirs_exist_ok=True)
        (self.prefix / "logs").mkdir(exist_ok=True)
        (self.prefix / "temp").mkdir(exist_ok=True)
        gateway = (linli / "gateway.conf").read_text()
        assert "listen 8000;" in gateway and "access_log /dev/stdout linli;" in gateway
        gateway = gateway.replace("listen 8000;", f"listen 127.0.0.1:{self.port};")
        gateway = gateway.replace("access_log /dev/stdout linli;", f"access_log {self.access_log} linli;")
        (linli / "gateway.conf").write_text(gateway)
        (linli / "upstreams.conf").write_text(
            "".join(
                f"upstream linli_{name} {{ server 127.0.0.1:{port}; keepalive 16; }}\n"
                for name, port in self.upstreams.items()
            )
        )
        includes = ["linli/gateway.conf", "linli/upstreams.conf"]
        if self.tls:
            cert, key = self.tls
            (linli / "tls").mkdir(exist_ok=True)
            shutil.copy(cert, linli / "tls" / "fullchain.pem")
            shutil.copy(key, linli / "tls" / "privkey.pem")
            tls = (linli / "tls.conf").read_text()
            assert "listen 443 ssl http2;" in tls and "listen 80;" in tls
            tls = tls.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{self.tls_port} ssl http2;")
            tls = tls.replace("listen 80;", f"listen 127.0.0.1:{self.redirect_port};")
            (linli / "tls.conf").write_text(tls)
            includes.append("linli/tls.conf")
        temp = self.prefix / "temp"
        # as root, workers would run as `nobody` and could not read the test's private temporary folders
        user = "user root;" if os.geteuid() == 0 else ""
        main = f"""
{user}
daemon off;
master_process on;
worker_processes 1;
pid {self.prefix}/nginx.pid;
error_log {self.error_log} info;
events {{ worker_connections 256; }}
http {{
    include {MIME};
    default_type application/octet-stream;
    server_tokens off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{"".join(f"    include {i};{chr(10)}" for i in includes)}}}
"""
        conf = self.prefix / "nginx.conf"
        conf.write_text(main)
        return conf

    def check(self) -> str:
        """``nginx -t`` on the rendered files: its output (raises when the configuration is refused)."""
        conf = self.render()
        done = subprocess.run(
            [nginx_binary(), "-t", "-p", str(self.prefix), "-c", str(conf)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stderr

    def start(self, timeout: float = 15) -> None:
        conf = self.render()
        stderr = open(self.prefix / "logs" / "stderr.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [nginx_binary(), "-p", str(self.prefix), "-c", str(conf)], stdout=stderr, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.prefix / 'logs' / 'stderr.log').read_text()}")
            try:
                httpx.get(f"{self.url}/app/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not answer")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: fast shutdown of master and workers
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
