"""Recipients and their preferences: duty, language, time zone, quiet hours, digest, channels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session

from services.notify.adapters.orm import Recipient
from services.notify.domain.channels import default_name
from services.notify.domain.targets import DEFAULT, REFUSED, Audience, TargetPolicy, TargetRefused
from services.notify.service_layer import scope
from shared.errors import Invalid, NotFound

PREFERENCES = (
    "language",
    "timezone",
    "quiet_start",
    "quiet_end",
    "digest_hour",
    "rate_limit",
    "rate_window_minutes",
    "channels",
    "muted",
)
"""What a recipient may change about their own notifications."""
KEEP_WHEN_NULL = {"language", "timezone", "rate_limit", "rate_window_minutes", "muted"}
"""Preferences that always have a value: ``null`` leaves them as they are (quiet hours and digest clear)."""


def apply_preferences(
    person: Recipient,
    changes: Mapping[str, Any],
    *,
    targets: TargetPolicy = DEFAULT,
    audience: Audience = "resident",
) -> None:
    """Copy the given preference fields onto ``person`` (``channels``: a list of ``{"url", "name"?}``, each
    checked against the channel target policy for ``audience``: a refused one refuses the whole change)."""
    for name in PREFERENCES:
        if name not in changes:
            continue
        value = changes[name]
        if name == "channels":
            value = named_channels(checked_channels(value or [], targets, audience), audience)
        if name in KEEP_WHEN_NULL and value is None:
            continue
        setattr(person, name, value)


def checked_channels(
    channels: Sequence[Mapping[str, Any]], targets: TargetPolicy, audience: Audience
) -> Sequence[Mapping[str, Any]]:
    """The channels if the policy accepts every target; else 422 ``channel_target_refused`` naming the
    channel by its position and the reason, never the address."""
    for n, ch in enumerate(channels, 1):
        try:
            targets.check(ch["url"], audience)
        except TargetRefused as exc:
            raise Invalid(f"第 {n} 个通道地址被拒绝：{exc} / channel {n} refused: {exc}", code=REFUSED) from None
    return channels


def named_channels(channels: Sequence[Mapping[str, Any]], audience: Audience = "resident") -> list[dict[str, str]]:
    """Give each channel a unique name (email, webhook, wecombot, email2…); one an operator set is marked
    ``"by": "operator"`` so the sender checks it against the operator's policy again at send time."""
    out, used = [], set()
    for ch in channels:
        base = ch.get("name") or default_name(ch["url"])
        name, n = base, 2
        while name in used:
            name, n = f"{base}{n}", n + 1
        used.add(name)
        out.append({"name": name, "url": ch["url"]} | ({"by": "operator"} if audience == "operator" else {}))
    return out


def upsert_recipient(
    session: Session,
    user_id: str,
    *,
    display_name: str,
    roles: Sequence[str] = ("resident",),
    community: str | None = None,
    categories: Sequence[str] = ("*",),
    on_duty: bool = False,
    preferences: Mapping[str, Any] | None = None,
    targets: TargetPolicy = DEFAULT,
    audience: Audience = "resident",
    communities: frozenset[str] | None = None,
) -> Recipient:
    """Register or update a recipient (duty, roles and any preferences given).

    ``communities`` (a staff member's scope; ``None``: all) must hold the recipient's community, both
    the one registered before (404 otherwise) and the one given (403).
    """
    existing = session.get(Recipient, user_id)
    if existing is not None and not scope.reaches(communities, existing.community):
        raise NotFound("接收人不存在 / no such recipient")
    scope.may_register(communities, community)
    person = existing or Recipient(user_id=user_id, display_name=display_name, channels=[], muted={})
    person.display_name = display_name
    person.roles = ",".join(roles)
    person.community = community
    person.categories = ",".join(categories)
    person.on_duty = on_duty
    apply_preferences(person, preferences or {}, targets=targets, audience=audience)
    session.add(person)
    return person


def find(session: Session, user_id: str, communities: frozenset[str] | None = None) -> Recipient | None:
    """A recipient as stored (``None``: never registered); one of a community outside ``communities`` is 404."""
    person = session.get(Recipient, user_id)
    if person is not None and not scope.reaches(communities, person.community):
        raise NotFound("接收人不存在 / no such recipient")
    return person


def audience_of(roles: Sequence[str]) -> Audience:
    """Whose policy applies to channels a caller with ``roles`` writes."""
    return "operator" if "operator" in roles else "resident"


def own_preferences(
    session: Session,
    user_id: str,
    name: str,
    roles: Sequence[str],
    changes: Mapping[str, Any],
    *,
    targets: TargetPolicy = DEFAULT,
) -> Recipient:
    """A caller updates their own preferences; a first call registers them (an operator's channels are
    checked against the operator's policy, everyone else's against the resident's)."""
    person = session.get(Recipient, user_id) or Recipient(
        user_id=user_id, display_name=name[:64], roles=",".join(sorted(roles)), channels=[], muted={}
    )
    apply_preferences(person, changes, targets=targets, audience=audience_of(roles))
    session.add(person)
    return person
