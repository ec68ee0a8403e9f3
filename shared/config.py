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

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings; read once per process (see :func:`get_settings`)."""

    model_config = SettingsConfigDict(
        env_prefix="LINLI_", env_file=os.environ.get("LINLI_ENV_FILE", ".env"), extra="ignore"
    )

    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias=AliasChoices("REDIS_URL", "LINLI_REDIS_URL"))
    stream_prefix: str = "linli"
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
    jwt_secret: str = "linli-dev-secret-change-me-0123456789abcdef"
    jwt_public_key: str | None = None
    jwt_algorithm: str = "HS256"
    pii_key: str = "linli-dev-pii-key-change-me"
    log_json: bool = True
    log_level: str = "INFO"

    def database_url(self, service: str) -> str:
        """The SQLAlchemy URL of one service's store (env ``<SERVICE>_DATABASE_URL`` wins)."""
        url = os.environ.get(f"{service.upper()}_DATABASE_URL")
        if url:
            return url
        self.var_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.var_dir / f'{service}.db').as_posix()}"


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return Settings()
