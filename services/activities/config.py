"""Settings of the activities service (env ``ACTIVITIES_*``): offers, reminders, the no-show rule."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.config import ENV_FILE


class ActivitiesSettings(BaseSettings):
    """How long an offered place waits for its answer, when reminders go out, and the no-show rule.

    ``no_show_limit`` 0 switches the rule off; otherwise a household with that many no-shows in the
    last ``no_show_days`` days cannot sign up until older ones age out (the 智汇橙 desk's rule of thumb).
    """

    model_config = SettingsConfigDict(env_prefix="ACTIVITIES_", env_file=ENV_FILE, extra="ignore")

    offer_hours: int = 12
    reminder_hours: int = 24
    no_show_limit: int = 0
    no_show_days: int = 90
    max_occurrences: int = 60


@lru_cache
def activities_settings() -> ActivitiesSettings:
    """The activities settings of this process (read once)."""
    return ActivitiesSettings()
