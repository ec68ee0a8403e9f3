"""One settings model: every setting, the services' own included, read from the environment or ``.env``.

An operator keeps the deployment's settings in one ``.env`` (docker-compose's ``env_file``, or the working
folder of ``linli run``); each process reads it from its working folder.
"""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg

from tests.gateway.deployment import LINLI, SERVICES
from tests.gateway.nginx import REPO


def _clean_env() -> dict[str, str]:
    """This machine's environment without any Linli setting, so that only the ``.env`` file speaks."""
    prefixes = ("LINLI_", "REDIS_", *(f"{s.upper()}_" for s in SERVICES))
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)} | {"PYTHONPATH": str(REPO)}


def test_each_service_s_database_url_comes_from_dotenv(tmp_path, pg_database, redis_url):
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
        "NOTIFY_ALLOWED_WEBHOOK_HOSTS=hooks.example.cn\n"
    )
    probe = (
        "from services.tickets.config import ticket_settings; from services.library.config import library_settings;"
        "from shared.config import env_value, get_settings; s = get_settings(); l = library_settings();"
        "print(ticket_settings().auto_close_days, l.max_loans, l.partners, s.cors_origins, s.forwarded_allow_ips,"
        " env_value('NOTIFY_ALLOWED_WEBHOOK_HOSTS'))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=_clean_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == (
        "3.0 5 ['CN-SJZ-LIB'] ['https://app.linli.example', 'https://h5.linli.example'] 10.0.0.2 hooks.example.cn"
    )
