"""Recipients and their preferences: duty, language, time zone, quiet hours, digest, channels."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlmodel import Session

from services.notify.adapters.orm import Recipient
from services.notify.domain.channels import CATEGORIES, default_name, mask_url

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class Channel(BaseModel):
    """One contact point: an Apprise URL (mailto://, json://, wecombot://, dingtalk://, feishu://…)."""

    url: str = Field(min_length=4, max_length=1000, pattern=r"^[a-z][a-z0-9+]*://")
    name: str | None = Field(default=None, max_length=32)


class Preferences(BaseModel):
    """What a recipient may change about their own notifications (all optional on update)."""

    language: str | None = Field(default=None, pattern=r"^(zh-CN|en)$")
    timezone: str | None = Field(default=None, max_length=64)
    quiet_start: str | None = Field(default=None, pattern=HHMM)
    quiet_end: str | None = Field(default=None, pattern=HHMM)
    digest_hour: int | None = Field(default=None, ge=0, le=23)
    rate_limit: int | None = Field(default=None, ge=0, le=1000)
    rate_window_minutes: int | None = Field(default=None, ge=1, le=1440)
    channels: list[Channel] | None = Field(default=None, max_length=10)
    muted: dict[str, list[str]] | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"未知时区 / unknown time zone {value}") from None
        return value

    @field_validator("muted")
    @classmethod
    def _categories(cls, value: dict | None) -> dict | None:
        unknown = set(value or {}) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"未知类别 / unknown categories {sorted(unknown)}; use {', '.join(CATEGORIES)}")
        return value

    @model_validator(mode="after")
    def _both_ends(self):
        given = {"quiet_start", "quiet_end"} & self.model_fields_set
        if len(given) == 1 or (given and (self.quiet_start is None) != (self.quiet_end is None)):
            raise ValueError("免打扰需同时给出起止 / quiet hours need both start and end (null both to clear)")
        return self


class RecipientIn(Preferences):
    """A person notify can reach (staff register duty; anyone's preferences as well)."""

    user_id: str | None = Field(default=None, max_length=128)
    display_name: str = Field(min_length=1, max_length=64)
    roles: list[str] = ["resident"]
    community: str | None = Field(default=None, max_length=64)
    categories: list[str] = ["*"]
    on_duty: bool = False


def apply_preferences(person: Recipient, prefs: Preferences) -> None:
    """Copy the given (set) preference fields onto ``person``."""
    for name in prefs.model_fields_set & set(Preferences.model_fields):
        value = getattr(prefs, name)
        if name == "channels":
            value = named_channels(value or [])
        if name in ("language", "timezone", "rate_limit", "rate_window_minutes", "muted") and value is None:
            continue
        setattr(person, name, value)


def named_channels(channels: list[Channel]) -> list[dict[str, str]]:
    """Give each channel a unique name (email, webhook, wecombot, email2…)."""
    out, used = [], set()
    for ch in channels:
        base = ch.name or default_name(ch.url)
        name, n = base, 2
        while name in used:
            name, n = f"{base}{n}", n + 1
        used.add(name)
        out.append({"name": name, "url": ch.url})
    return out


def upsert_recipient(session: Session, user_id: str, body: RecipientIn) -> Recipient:
    """Register or update a recipient (duty, roles and any preferences given)."""
    person = session.get(Recipient, user_id) or Recipient(
        user_id=user_id, display_name=body.display_name, channels=[], muted={}
    )
    person.display_name = body.display_name
    person.roles = ",".join(body.roles)
    person.community = body.community
    person.categories = ",".join(body.categories)
    person.on_duty = body.on_duty
    apply_preferences(person, body)
    session.add(person)
    return person


def own_preferences(session: Session, user_id: str, name: str, roles: list[str], prefs: Preferences) -> Recipient:
    """A caller updates their own preferences; a first call registers them."""
    person = session.get(Recipient, user_id) or Recipient(
        user_id=user_id, display_name=name[:64], roles=",".join(sorted(roles)), channels=[], muted={}
    )
    apply_preferences(person, prefs)
    session.add(person)
    return person


def describe(person: Recipient | None, user_id: str) -> dict[str, Any]:
    """A recipient as shown through the API: channel URLs masked (they hold tokens and addresses)."""
    if person is None:
        person = Recipient(user_id=user_id, display_name=user_id, channels=[], muted={})
    return {
        "user_id": person.user_id,
        "display_name": person.display_name,
        "roles": person.roles.split(","),
        "community": person.community,
        "categories": person.categories.split(","),
        "on_duty": person.on_duty,
        "language": person.language,
        "timezone": person.timezone,
        "quiet_hours": {"start": person.quiet_start, "end": person.quiet_end} if person.quiet_start else None,
        "digest_hour": person.digest_hour,
        "rate_limit": person.rate_limit,
        "rate_window_minutes": person.rate_window_minutes,
        "muted": person.muted or {},
        "channels": [{"name": c["name"], "url": mask_url(c["url"])} for c in person.channels or []],
    }
