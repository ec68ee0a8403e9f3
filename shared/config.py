"""Configuration from environment variables and an optional ``.env`` file (pydantic-settings).

Every setting is listed in the README's configuration table. Per-service database URLs are read
as ``<SERVICE>_DATABASE_URL`` (for example ``TICKETS_DATABASE_URL``); when unset, each service
keeps a SQLite file under ``LINLI_VAR_DIR``.
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from dotenv import dotenv_values
from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_FILE = os.environ.get("LINLI_ENV_FILE", ".env")
"""The ``.env`` file every settings class reads (the services' own ``TICKETS_*``, ``LIBRARY_*`` … too)."""


class Settings(BaseSettings):
    """Process-wide settings; read once per process (see :func:`get_settings`)."""

    model_config = SettingsConfigDict(env_prefix="LINLI_", env_file=ENV_FILE, extra="ignore")

    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias=AliasChoices("REDIS_URL", "LINLI_REDIS_URL"))
    stream_prefix: str = "linli"
    redis_cluster: bool = False
    """``REDIS_URL`` names a node of a Redis Cluster: cluster clients, and every stream key under one hash tag
    (``{linli}:tickets``; see :mod:`shared.messaging.connection`)."""
    stream_maxlen: int = 1_000_000
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    var_dir: Path = Path("var")
    consumer_name: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    batch_size: int = 500
    max_deliveries: int = 5
    retry_base_ms: int = 1000
    retry_max_ms: int = 60_000
    claim_idle_ms: int = 30_000
    reclaim_interval_ms: int = 500
    max_event_bytes: int = 256 * 1024
    outbox_batch: int = 500
    outbox_retention_hours: int = 24
    pii_key: str = "linli-dev-pii-key-change-me"
    env: str = "development"
    """``production`` refuses the development PII key and needs ``LINLI_JWKS_URL`` (see
    :meth:`_no_dev_secrets_in_production`)."""
    jwks_url: str | None = None
    """Verify bearer tokens by this JWKS (accounts serves ``/.well-known/jwks.json``); a process running
    accounts itself reads its keys in-process (:mod:`shared.web.jwks`)."""
    signing_key_file: Path | None = None
    """accounts' development signing key (default ``<var_dir>/signing-key.jwk``, none in production):
    ``linli token`` and tests sign with it, accounts adopts it, lone services verify by its public half."""
    jwt_issuer: str | None = None
    """When set, tokens must carry this ``iss``."""
    jwt_audience: str | None = None
    """When set, tokens must carry this ``aud``."""
    jwt_leeway_s: int = 0
    """Clock skew allowed on ``exp``/``nbf``/``iat`` (seconds; e.g. 30 for an identity provider on another host)."""
    jwks_cache_s: int = 300
    """How long fetched keys are trusted before the JWKS is fetched again (an unknown ``kid`` refetches sooner)."""
    log_json: bool = True
    log_level: str = "INFO"
    cors_origins: Annotated[list[str], NoDecode] = []
    """Origins allowed to call from a browser (comma-separated ``https://app.example.cn``); none: no CORS."""
    forwarded_allow_ips: str = "127.0.0.1"
    """Proxies whose ``X-Forwarded-For``/``-Proto`` are believed (comma-separated addresses or ``*``)."""
    idempotency_ttl_s: int = 24 * 3600
    """How long an ``Idempotency-Key`` and its answer are kept (in Redis)."""

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [v.strip().rstrip("/") for v in value.split(",") if v.strip()]
        return value

    @model_validator(mode="after")
    def _no_dev_secrets_in_production(self) -> Settings:
        """Under ``LINLI_ENV=production`` the development secrets are refused: the process does not start."""
        if self.env != "production":
            return self
        defaults = type(self).model_fields
        problems = []
        if self.pii_key == defaults["pii_key"].default:
            problems.append("LINLI_PII_KEY")
        if not self.jwks_url:
            problems.append("LINLI_JWKS_URL (unset: tokens could not be verified)")
        if problems:
            raise ValueError(
                "生产环境不能使用开发密钥 / LINLI_ENV=production refuses the development value (or absence) of "
                + ", ".join(problems)
            )
        return self

    def database_url(self, service: str) -> str:
        """The SQLAlchemy URL of one service's store (env ``<SERVICE>_DATABASE_URL`` wins)."""
        name = f"{service.upper()}_DATABASE_URL"
        url = os.environ.get(name) or _dotenv(self.model_config.get("env_file")).get(name)
        if url:
            return url
        self.var_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.var_dir / f'{service}.db').as_posix()}"


def env_value(name: str, default: str | None = None) -> str | None:
    """One variable from the environment, else from ``.env`` (for settings read outside a settings class)."""
    found = os.environ.get(name)
    if found is None:
        found = _dotenv(ENV_FILE).get(name)
    return default if found is None else found


def _dotenv(env_file: object) -> dict[str, str | None]:
    """The variables of the ``.env`` file (none when it is absent), as pydantic-settings reads it."""
    if not isinstance(env_file, str | Path) or not Path(env_file).is_file():
        return {}
    return dotenv_values(env_file, encoding="utf-8")


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return Settings()
