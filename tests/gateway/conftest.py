"""One split deployment behind the gateway for the module's tests (starting it costs seconds, not a test)."""

from __future__ import annotations

import pytest

from tests.gateway.deployment import Deployment
from tests.gateway.nginx import nginx_binary

APP_ORIGIN = "https://app.linli.example"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, postgres_admin_url):
    nginx_binary()  # fails with how to install nginx, never skips
    deployed = Deployment(
        tmp_path_factory.mktemp("deployment"), postgres_admin_url, extra_env={"LINLI_CORS_ORIGINS": APP_ORIGIN}
    )
    try:
        deployed.start()
        yield deployed
    finally:
        deployed.stop()
