"""One settings model: every setting, the services' own included, read from the environment or ``.env``.

An operator keeps the deployment's settings in one ``.env`` (docker-compose's ``env_file``, or the working
folder of ``linli run``); each process reads it from its working folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import psycopg

from host.catalog import TARGETS
from tests.gateway.deployment import LINLI
from tests.gateway.nginx import REPO

SERVICES = tuple(TARGETS)  # every service, the ones the gateway test does not start included


def _clean_env() -> dict[str, str]:
    """This machine's environment without any Linli setting, so that only the ``.env`` file speaks."""
    prefixes = ("LINLI_", "REDIS_", *(f"{s.upper()}_" for s in SERVICES))
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)} | {"PYTHONPATH": str(REPO)}


def test_each_service_s_database_url_comes_from_dotenv(tmp_path, pg_database, redis_url):
    assert {"accounts", "activities"} <= set(SERVICES)
    urls = {service: pg_database(f"env_{service}") for service in SERVICES}
    lines = [f"{s.upper()}_DATABASE_URL={url}" for s, url in urls.items()]
    (tmp_path / ".env").write_text("\n".join([*lines, f"REDIS_URL={redis_url}", "LINLI_VAR_DIR=var", ""]))
    done = subprocess.run(
        [str(LINLI), "db", "upgrade", *SERVICES], cwd=tmp_path, env=_clean_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for service, url in urls.items():
        with psycopg.connect(url) as conn:
            (version,) = conn.execute("SELECT count(*) FROM alembic_version").fetchone()
        assert version == 1, f"{service} did not migrate the database named in .env"
    assert not (tmp_path / "var").exists() or not list((tmp_path / "var").glob("*.db"))


def test_the_services_own_settings_come_from_dotenv(tmp_path):
    (tmp_path / ".env").write_text(
        "TICKETS_AUTO_CLOSE_DAYS=3\nLIBRARY_MAX_LOANS=5\nLIBRARY_PARTNERS=CN-SJZ-LIB\n"
        "LINLI_CORS_ORIGINS=https://app.linli.example, https://h5.linli.example/\nLINLI_FORWARDED_ALLOW_IPS=10.0.0.2\n"
        "NOTIFY_ALLOWED_WEBHOOK_HOSTS=hooks.example.cn\nNOTIFY_MAX_ATTEMPTS=3\nNOTIFY_RESIDENT_CHANNELS=email\n"
        "ACTIVITIES_OFFER_HOURS=6\nACTIVITIES_NO_SHOW_LIMIT=2\nACCOUNTS_CODE_TTL_S=120\n"
    )
    probe = (
        "from services.tickets.config import ticket_settings; from services.library.config import library_settings;"
        "from services.notify.service_layer.setup import policy_from_env, targets_from_env;"
        "from services.activities.config import activities_settings; from services.accounts.config import "
        "accounts_settings; from shared.config import get_settings; s = get_settings(); l = library_settings();"
        "t = targets_from_env(); a = activities_settings();"
        "print(ticket_settings().auto_close_days, l.max_loans, l.partners, s.cors_origins, s.forwarded_allow_ips);"
        "print(sorted(t.allowed_hosts), sorted(t.resident_kinds), policy_from_env().max_attempts);"
        "print(a.offer_hours, a.no_show_limit, accounts_settings().code_ttl_s)"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=_clean_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == [
        "3.0 5 ['CN-SJZ-LIB'] ['https://app.linli.example', 'https://h5.linli.example'] 10.0.0.2",
        "['hooks.example.cn'] ['email'] 3",
        "6 2 120",
    ]


def test_no_service_reads_the_environment_by_itself():
    """A setting read with ``os.environ`` would miss ``.env``: every service reads through a settings class."""
    readers = re.compile(r"os\.environ|os\.getenv|getenv\(")
    found = [
        f"{path.relative_to(REPO)}:{n}"
        for path in sorted((REPO / "services").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if readers.search(line) and "migrations" not in path.parts
    ]
    assert not found, found
