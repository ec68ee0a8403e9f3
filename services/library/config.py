"""Settings of the library service (env ``LIBRARY_*``): loan policy defaults, notices, partners."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.config import ENV_FILE


class LibrarySettings(BaseSettings):
    """Defaults from the seed: 3 items for 30 days, one renewal, notices 3 days before and 1/7/14 after.

    ``LIBRARY_PARTNERS`` is a comma-separated list of partner institution codes; each one needs a Redis
    ACL user (deploy/redis/users.acl) and gets the streams ``<prefix>:partner:<CODE>:in|out``.
    """

    model_config = SettingsConfigDict(env_prefix="LIBRARY_", env_file=ENV_FILE, extra="ignore")

    max_loans: int = 3
    loan_days: int = 30
    max_renewals: int = 1
    renewal_days: int = 30
    hold_pickup_days: int = 7
    due_soon_days: int = 3
    overdue_days: Annotated[list[int], NoDecode] = [1, 7, 14]
    partners: Annotated[list[str], NoDecode] = ["CN-SJZ-LIB", "CN-SJZ-YHLIB"]
    partner_secret_key: str | None = None
    signature_window_s: int = 300

    @field_validator("partners", "overdue_days", mode="before")
    @classmethod
    def _split(cls, value):
        if isinstance(value, str) and not value.strip().startswith("["):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value


@lru_cache
def library_settings() -> LibrarySettings:
    """The library settings of this process (read once)."""
    return LibrarySettings()
