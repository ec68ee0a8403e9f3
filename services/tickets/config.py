"""Settings of the tickets service (env ``TICKETS_*``): closing-the-loop windows and media folder."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.config import ENV_FILE


class TicketSettings(BaseSettings):
    """``TICKETS_AUTO_CLOSE_DAYS`` (7) and ``TICKETS_REOPEN_DAYS`` (14)."""

    model_config = SettingsConfigDict(env_prefix="TICKETS_", env_file=ENV_FILE, extra="ignore")

    auto_close_days: float = 7
    reopen_days: float = 14


def ticket_settings() -> TicketSettings:
    return TicketSettings()
