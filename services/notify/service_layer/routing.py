"""Who hears about what: event -> rules -> recipients -> an inbox row and a scheduled delivery each.

Runs inside the consumer's transaction (the inbox rows of the events are in it), so the in-app messages
and the deliveries are written exactly once per event, however often the event arrives. A run of events
is routed together, the rows go in with one INSERT each; rules, staff and recipients are kept in
memory until one of them changes (directory.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from services.notify.adapters.orm import Delivery, Follower, Notification, Recipient, Rule
from services.notify.adapters.templates import Templates
from services.notify.domain.context import template_context
from services.notify.domain.schedule import next_digest, quiet_until
from services.notify.service_layer import directory, erasure
from services.notify.service_layer.rules import is_critical
from shared.clock import as_utc
from shared.events.envelope import CloudEvent, EventData
from shared.events.tickets import TicketFollowed
from shared.messaging.inbox import insert_many
from shared.service import ServiceContext

DEFAULT_TZ = "Asia/Shanghai"


def _cached(session: Session, key: object, load):
    """Rules, staff and recipients (and what is worked out from them), read once and kept until
    one of them changes (see :mod:`~services.notify.service_layer.directory`); ``load`` must return
    rows that belong to no session."""
    cache = session.info.get("notify_cache")
    if cache is None:
        cache = session.info["notify_cache"] = directory.entries(session)
    if key not in cache:
        cache[key] = load()
    return cache[key]


def _erased(session: Session, uid: str) -> bool:
    """An erased person (or the tombstone) gets no message, however late an event naming them comes."""
    return bool(_cached(session, ("erased", uid), lambda: erasure.is_erased(session, uid)))


def staff(session: Session, community: str | None, *, on_duty_for: str | None = None) -> list[Recipient]:
    """Staff of ``community`` (or serving every community); with ``on_duty_for``, only those on duty
    for that ticket category (or ``*``)."""
    people = _cached(
        session,
        "staff",
        lambda: [
            directory.detached(r)
            for r in session.exec(select(Recipient).where(col(Recipient.roles).contains("staff"))).all()
        ],
    )
    chosen = []
    for r in people:
        if "staff" not in r.roles.split(","):
            continue
        if community and r.community and r.community != community:
            continue
        if on_duty_for is not None and not (
            r.on_duty and (r.categories == "*" or on_duty_for in r.categories.split(","))
        ):
            continue
        chosen.append(r)
    return chosen


def staff_ids(session: Session, community: str | None, on_duty_for: str | None = None) -> list[str]:
    """Principal ids of :func:`staff` (worked out once for each community and category)."""
    return _cached(
        session,
        ("staff", community, on_duty_for),
        lambda: [r.user_id for r in staff(session, community, on_duty_for=on_duty_for)],
    )


def audience(session: Session, name: str, data: dict) -> list[str]:
    """Principal ids of one audience of a rule (see rules.yaml)."""
    community = data.get("community")
    if name == "on_duty_staff":
        return staff_ids(session, community, data.get("category") or "*")
    if name == "staff":
        return staff_ids(session, community)
    if name == "followers":
        return list(session.exec(select(Follower.user_id).where(Follower.ticket_id == data.get("ticket_id"))).all())
    value = data.get(name.removeprefix("field:"))
    ids = value if isinstance(value, list) else [value] if value else []
    out: list[str] = []
    for uid in ids:
        out += staff_ids(session, community) if uid == "staff" else [uid]
    return out


def recipients_for(session: Session, rule: Rule, data: dict) -> list[str]:
    """Everyone a rule reaches, once each, in order; the actor of the change is left out."""
    seen: dict[str, None] = {}
    for name in rule.audiences:
        for uid in audience(session, name, data):
            if uid and uid != data.get("actor") and not _erased(session, uid):
                seen.setdefault(uid, None)
    return list(seen)


def follow(session: Session, data: TicketFollowed) -> None:
    """Remember a follower of a ticket (TicketFollowed)."""
    if not _erased(session, data.follower) and session.get(Follower, (data.ticket_id, data.follower)) is None:
        session.add(Follower(ticket_id=data.ticket_id, user_id=data.follower))


def notify_events(ctx: ServiceContext, events: list[tuple[CloudEvent, EventData]], session: Session) -> int:
    """Apply the routing rule of each event's type, in order; returns the number of in-app messages.

    TicketFollowed also records the follower (seen by the events after it).
    """
    routing = Routing(ctx, session)
    for event, data in events:
        if isinstance(data, TicketFollowed):
            follow(session, data)
        routing.route(event, data)
    return routing.write()


class Routing:
    """Routes a run of events in one transaction: messages and deliveries are queued, then written
    with one multi-row INSERT each (:meth:`write`, COPY on PostgreSQL). The run has one ``now``."""

    def __init__(self, ctx: ServiceContext, session: Session) -> None:
        self.session = session
        self.templates: Templates = ctx.state["templates"]
        self.now = ctx.clock.now()
        self.notifications: list[dict] = []
        self.deliveries: list[dict] = []
        self.queued: dict[tuple[str, str], int] = {}  # (recipient, channel) -> non-critical deliveries queued
        self.stored: dict[tuple, tuple[int, datetime | None]] = {}  # rate-limit counts read from the store

    def route(self, event: CloudEvent, data: EventData) -> None:
        """Queue an in-app message for every recipient of the event's rule, and a delivery for those
        with an enabled channel (no rule: nothing)."""
        session, model, now = self.session, type(data), self.now
        name = model.short_name()
        rule = _cached(session, ("rule", name), lambda: directory.detached(session.get(Rule, name)))
        if rule is None:
            return
        template, category = rule.template, rule.category
        payload = data.model_dump(mode="json")
        critical = is_critical(rule, payload)
        for uid in recipients_for(session, rule, payload):
            reader = addressee(session, uid)
            context = template_context(model, payload, tz=reader.timezone, recipient_name=reader.name)
            text = self.templates.render(template, reader.language, context)
            self.notifications.append(
                {
                    "recipient": uid,
                    "event_id": event.id,
                    "event_type": event.type,
                    "correlation_id": event.correlationid,
                    "subject": event.subject,
                    "title": text.title,
                    "body": text.full,
                    "created_at": now,
                    "category": category,
                    "critical": critical,
                }
            )
            channel = first_channel(session, reader.person, category)
            if channel is None:
                continue
            due, fold, reason = self.schedule(reader.person, channel, critical)
            self.deliveries.append(
                {
                    "id": uuid.uuid4().hex,
                    "event_id": event.id,
                    "event_type": event.type,
                    "event_source": event.source,
                    "event_time": event.time,
                    "correlation_id": event.correlationid,
                    "subject": event.subject,
                    "recipient": uid,
                    "channel": channel,
                    "category": category,
                    "critical": critical,
                    "fold": fold,
                    "reason": reason,
                    "status": "pending",
                    "attempts": 0,
                    "due_at": due,
                    "created_at": now,
                    "title": text.title,
                    "short": text.short,
                    "full": text.full,
                }
            )
            if not critical:
                self.queued[(uid, channel)] = self.queued.get((uid, channel), 0) + 1

    def schedule(self, person: Recipient, channel: str, critical: bool) -> tuple[datetime, bool, str]:
        """When a delivery may go out and whether it folds with others: ``(due_at, fold, reason)``.

        Critical messages go now. Others wait for the daily digest, or the end of quiet hours, or, past
        the rate limit, for the end of the window; those are folded into one message when they fall due.
        """
        now = self.now
        if critical:
            return now, False, "critical"
        if person.digest_hour is not None:
            return next_digest(now, person.digest_hour, person.timezone), True, "digest"
        held = quiet_until(now, person.quiet_start, person.quiet_end, person.timezone)
        if held is not None:
            return held, True, "quiet"
        if person.rate_limit > 0:
            window = timedelta(minutes=person.rate_window_minutes)
            count, earliest = self.recent(person.user_id, channel, now - window)
            if count >= person.rate_limit:
                return earliest + window, True, "rate_limit"
        return now, False, "now"

    def recent(self, uid: str, channel: str, since: datetime) -> tuple[int, datetime | None]:
        """Non-critical deliveries to ``uid`` on ``channel`` created after ``since``, stored or queued:
        how many, and when the earliest was created."""
        key = (uid, channel, since)
        if key not in self.stored:  # the store does not change until write(): read once per run
            count, earliest = self.session.exec(
                select(func.count(), func.min(Delivery.created_at)).where(
                    Delivery.recipient == uid,
                    Delivery.channel == channel,
                    Delivery.critical == False,  # noqa: E712
                    Delivery.created_at > since,
                )
            ).one()
            self.stored[key] = (count, as_utc(earliest) if count else None)
        count, earliest = self.stored[key]
        queued = self.queued.get((uid, channel), 0)
        if queued:
            count, earliest = count + queued, min(earliest or self.now, self.now)
        return count, earliest

    def write(self) -> int:
        """Insert the queued messages and deliveries; returns the number of messages."""
        written = len(self.notifications)
        insert_many(self.session, Notification.__table__, self.notifications)
        insert_many(self.session, Delivery.__table__, self.deliveries)
        self.notifications, self.deliveries, self.queued, self.stored = [], [], {}, {}
        return written


@dataclass(frozen=True)
class Addressee:
    """What a message needs of its recipient: the row (None for someone notify does not know), the
    name to greet, time zone and language."""

    person: Recipient | None
    name: str
    timezone: str
    language: str


def addressee(session: Session, uid: str) -> Addressee:
    """The :class:`Addressee` for ``uid`` (kept until recipients change)."""

    def load() -> Addressee:
        person = directory.detached(session.get(Recipient, uid))
        if person is None:
            return Addressee(None, uid.rsplit(":", maxsplit=1)[-1], DEFAULT_TZ, "zh-CN")
        return Addressee(person, person.display_name, person.timezone, person.language)

    return _cached(session, ("recipient", uid), load)


def first_channel(session: Session, person: Recipient | None, category: str) -> str | None:
    """The name of the first channel ``person`` has enabled for ``category`` (kept with the person)."""
    if person is None:
        return None
    channels = _cached(session, ("channels", person.user_id, category), lambda: enabled_channels(person, category))
    return channels[0]["name"] if channels else None


def enabled_channels(person: Recipient, category: str) -> list[dict]:
    """The recipient's external channels in order, without those switched off for ``category``."""
    off = set(person.muted.get(category, []))
    return [c for c in person.channels if c.get("name") not in off]
