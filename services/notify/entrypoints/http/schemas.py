"""Request and response bodies of notify's routes."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import available_timezones

from pydantic import Field, StringConstraints, field_validator, model_validator

from services.notify.domain.channels import CATEGORIES
from shared.web.auth import ROLES
from shared.web.fields import Body, View
from shared.web.pages import Page

V = TypeVar("V", bound=View)

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
Language = Literal["zh-CN", "en"]
Category = Literal[CATEGORIES]  # type: ignore[valid-type]
Role = Literal[ROLES]  # type: ignore[valid-type]
ChannelName = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")]
DutyCategory = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^(\*|[A-Za-z0-9_.\-]+)$")]
Audience = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:\-]+$")]


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


# -- requests ---------------------------------------------------------------------------------
class ChannelIn(Body):
    """One contact point: an Apprise URL (mailto://, json://, wecombot://, dingtalk://, feishu://…)."""

    url: str = Field(min_length=4, max_length=1000, pattern=r"^[a-z][a-z0-9+]*://")
    name: ChannelName | None = None


class PreferencesIn(Body):
    """What a recipient may change about their own notifications (all optional; only those given change)."""

    language: Language | None = None
    timezone: str | None = Field(default=None, min_length=1, max_length=64, examples=["Asia/Shanghai"])
    quiet_start: str | None = Field(default=None, pattern=HHMM, examples=["22:00"])
    quiet_end: str | None = Field(default=None, pattern=HHMM, examples=["07:00"])
    digest_hour: int | None = Field(default=None, ge=0, le=23)
    rate_limit: int | None = Field(default=None, ge=0, le=1000)
    rate_window_minutes: int | None = Field(default=None, ge=1, le=1440)
    channels: list[ChannelIn] | None = Field(default=None, max_length=10)
    muted: dict[Category, Annotated[list[ChannelName], Field(max_length=10)]] | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None and value not in _zones():
            raise ValueError("未知时区 / unknown time zone")
        return value

    @model_validator(mode="after")
    def _both_ends(self) -> PreferencesIn:
        given = {"quiet_start", "quiet_end"} & self.model_fields_set
        if len(given) == 1 or (given and (self.quiet_start is None) != (self.quiet_end is None)):
            raise ValueError("免打扰需同时给出起止 / quiet hours need both start and end (null both to clear)")
        return self

    def changes(self) -> dict[str, Any]:
        """The preferences given in the request (a missing one stays as it is)."""
        return self.model_dump(include=set(PreferencesIn.model_fields) & self.model_fields_set)


class RecipientIn(PreferencesIn):
    """A person notify can reach (staff register duty; any of their preferences as well)."""

    user_id: str | None = Field(default=None, min_length=1, max_length=128, description="ignored: the path names them")
    display_name: str = Field(min_length=1, max_length=64)
    roles: list[Role] = Field(default=["resident"], min_length=1, max_length=len(ROLES))
    community: str | None = Field(default=None, min_length=1, max_length=64)
    categories: list[DutyCategory] = Field(default=["*"], min_length=1, max_length=12)
    on_duty: bool = False


class RuleIn(Body):
    """Where an event type goes: audiences (staff, on_duty_staff, followers, field:<name>), category, template."""

    audiences: list[Audience] = Field(min_length=1, max_length=10)
    category: str = Field(min_length=1, max_length=32)
    critical: str = Field(default="false", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")
    template: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")


# -- responses --------------------------------------------------------------------------------
class NoteView(View):
    """One in-app message; times in Asia/Shanghai."""

    id: int
    event_type: str
    subject: str | None
    title: str
    body: str
    category: str
    critical: bool
    created_at: datetime
    read_at: datetime | None
    archived_at: datetime | None


class UnreadView(View):
    unread: int


class MarkedView(View):
    marked: int


class ChannelView(View):
    """A channel with its address masked."""

    name: str
    url: str


class QuietHoursView(View):
    start: str
    end: str | None


class RecipientView(View):
    user_id: str
    display_name: str
    roles: list[str]
    community: str | None
    categories: list[str]
    on_duty: bool
    language: str
    timezone: str
    quiet_hours: QuietHoursView | None
    digest_hour: int | None
    rate_limit: int
    rate_window_minutes: int
    muted: dict[str, list[str]]
    channels: list[ChannelView]


class RuleView(View):
    event: str
    audiences: list[str]
    category: str
    critical: str
    template: str


class AttemptView(View):
    attempt: int
    at: datetime
    outcome: str
    response: str | None
    folded: int


class DeliveryView(View):
    """A delivery to an external channel with its log of attempts."""

    id: str
    event_id: str
    event_type: str
    recipient: str
    channel: str
    category: str
    critical: bool
    reason: str
    status: str
    attempts: int
    due_at: datetime
    sent_at: datetime | None
    title: str
    last_error: str | None
    log: list[AttemptView]


def page_of_views(model: type[V], page: Page[dict[str, Any]]) -> Page[V]:
    """A page of view dicts (from ``service_layer.views``) as a page of ``model``, validated in one call (in
    pydantic's core: faster than one ``model_validate`` per item, see shared.web.pages.page_of)."""
    return _page_class(model).model_validate({"items": page.items, "next_cursor": page.next_cursor})


@cache
def _page_class(model: type[V]) -> type[Page[V]]:
    return Page[model]  # type: ignore[valid-type]
