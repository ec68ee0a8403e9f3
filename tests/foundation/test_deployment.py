"""docker-compose cannot run here (no Docker engine); check that it runs every service as its own target."""

from pathlib import Path

import yaml

from host.catalog import TARGETS

REPO = Path(__file__).resolve().parents[2]


def test_compose_runs_each_service_alone_against_postgres_and_redis():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in TARGETS:
        assert services[name]["command"] == ["linli", "run", name]
        env = services[name]["environment"]
        assert env[f"{name.upper()}_DATABASE_URL"].startswith("postgresql://")
        assert env["REDIS_URL"].startswith("redis://")
    nginx = REPO / "deploy" / "nginx"  # tests/gateway runs this configuration in front of real processes
    routes, upstreams = (nginx / "routes.conf").read_text(), (nginx / "upstreams.conf").read_text()
    for name in TARGETS:
        assert f"location /api/{name}/" in routes and f"server {name}:8000;" in upstreams
    init = (REPO / "deploy" / "postgres" / "init.sql").read_text()
    assert all(f"linli_{name}" in init for name in TARGETS)
