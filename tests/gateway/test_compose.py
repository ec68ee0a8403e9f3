"""The compose file and the image as an operator gets them: validated by Debian's docker-compose (no engine
needed for `config`), secrets required, Redis unpublished, a one-shot migration first, a runtime-only lock."""

from __future__ import annotations

import shutil
import subprocess

import yaml

from tests.gateway.nginx import REPO

SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "LINLI_REDIS_PASSWORD": "redis-secret",
    "LINLI_REDIS_ACL_FILE": "./deploy/redis/users.acl",
    "LINLI_PII_KEY": "pii-secret",
}
LINLI_SERVICES = ("tickets", "library", "volunteers", "notify", "accounts", "activities")


def _compose_config(folder, env: dict[str, str]) -> subprocess.CompletedProcess:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is not installed: `apt-get install -y docker-compose` (.ci/run installs it)"
    shutil.copy(REPO / "docker-compose.yml", folder / "docker-compose.yml")
    (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(folder)}
    return subprocess.run([binary, "config"], cwd=folder, env=clean, capture_output=True, text=True)


def test_the_compose_file_validates_and_keeps_its_promises(tmp_path):
    done = _compose_config(tmp_path, SECRETS)
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    services = config["services"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"gateway"}  # Redis and PostgreSQL only on the internal network
    assert services["migrate"]["command"] == ["linli", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name in LINLI_SERVICES:
        service = services[name]
        assert service["command"] == ["linli", "run", name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["environment"]["LINLI_ENV"] == "production"
        assert service["environment"]["REDIS_URL"] == "redis://linli:redis-secret@redis:6379/0"
        assert "pg-secret@postgres" in service["environment"][f"{name.upper()}_DATABASE_URL"]
    images = [s["image"] for s in services.values()]
    assert all(":" in i and not i.endswith(":latest") for i in images), images


def test_compose_refuses_to_run_without_each_secret(tmp_path):
    for missing in ("POSTGRES_PASSWORD", "LINLI_REDIS_PASSWORD", "LINLI_PII_KEY", "LINLI_REDIS_ACL_FILE"):
        folder = tmp_path / missing
        folder.mkdir()
        done = _compose_config(folder, {k: v for k, v in SECRETS.items() if k != missing})
        assert done.returncode != 0 and f"set {missing} in .env" in done.stderr, (missing, done.stderr)


def test_the_image_installs_the_runtime_lock_only_and_runs_unprivileged():
    dockerfile = (REPO / "Dockerfile").read_text()
    runtime_lock = (REPO / "requirements-runtime.lock").read_text()
    assert "requirements-runtime.lock" in dockerfile and "requirements.lock " not in dockerfile
    for tool in ("pytest", "playwright", "matplotlib", "testcontainers", "schemathesis", "ruff", "mypy"):
        assert f"\n{tool}==" not in runtime_lock, tool
    for needed in ("fastapi", "faststream", "uvicorn", "psycopg", "pillow", "apprise"):
        assert f"\n{needed}==" in runtime_lock, needed
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and "ARG PYTHON_IMAGE=python:3.11." in dockerfile and "-slim-" in dockerfile
    assert "\nUSER linli\n" in dockerfile and "mkdir -p /var/lib/linli/media" in dockerfile
    assert 'CMD ["python", "-c"' in dockerfile  # the healthcheck in exec form: no shell needed


def test_the_gateway_s_main_file_as_compose_mounts_it_is_accepted_by_nginx(tmp_path):
    """deploy/nginx/nginx.conf with deploy/nginx/ beside it as `linli/`, as the compose file mounts them; only
    the upstream host names, which resolve on compose's network alone, point at loopback here."""
    from tests.gateway.nginx import DEPLOY, MIME, nginx_binary

    shutil.copytree(DEPLOY, tmp_path / "linli")
    shutil.copy(DEPLOY / "nginx.conf", tmp_path / "nginx.conf")
    shutil.copy(MIME, tmp_path / "mime.types")
    upstreams = tmp_path / "linli" / "upstreams.conf"
    text = upstreams.read_text()
    for name in LINLI_SERVICES:
        assert f"server {name}:8000;" in text, name
        text = text.replace(f"server {name}:8000;", "server 127.0.0.1:9;")
    upstreams.write_text(text)
    done = subprocess.run(
        [nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
