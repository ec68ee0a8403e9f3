"""Settings of the notify service (env ``NOTIFY_*``): delivery retries and the channels people may set.

Read like every other setting: the environment first, then the ``.env`` file of the working folder.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.config import ENV_FILE


class NotifySettings(BaseSettings):
    """``NOTIFY_MAX_ATTEMPTS`` (6), ``NOTIFY_RETRY_BASE_SECONDS`` (60), ``NOTIFY_RETRY_JITTER`` (0.2);
    ``NOTIFY_ALLOWED_WEBHOOK_HOSTS``, ``NOTIFY_RESIDENT_CHANNELS``, ``NOTIFY_OPERATOR_CHANNELS`` as text, parsed
    by :mod:`services.notify.domain.targets` (an unknown channel kind stops the service at start)."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", env_file=ENV_FILE, extra="ignore")

    max_attempts: int = 6
    retry_base_seconds: float = 60
    retry_jitter: float = 0.2
    allowed_webhook_hosts: str | None = None
    resident_channels: str | None = None
    operator_channels: str | None = None


def notify_settings() -> NotifySettings:
    """The notify settings, read now (start-up reads them once)."""
    return NotifySettings()
