"""Who hears about what: event -> rules -> recipients -> an inbox row and a scheduled delivery each.

Runs inside the consumer's transaction (the inbox row of the event is in it), so the in-app message
and the deliveries are written exactly once per event, however often the event arrives.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from services.notify.adapters.orm import Delivery, Follower, Notification, Recipient, Rule
from services.notify.adapters.templates import Templates
from services.notify.domain.context import template_context
from services.notify.domain.schedule import next_digest, quiet_until
from services.notify.service_layer.rules import is_critical
from shared.clock import as_utc
from shared.events.envelope import CloudEvent, EventData
from shared.events.tickets import TicketFollowed
from shared.runtime import ServiceContext

DEFAULT_TZ = "Asia/Shanghai"


def _cached(session: Session, key: object, load):
    """Rows that stay the same while one batch of events is applied (rules, recipients, staff),
    loaded once per transaction instead of once per event."""
    cache = session.info.setdefault("notify_cache", {})
    if key not in cache:
        cache[key] = load()
    return cache[key]


def staff(session: Session, community: str | None, *, on_duty_for: str | None = None) -> list[Recipient]:
    """Staff of ``community`` (or serving every community); with ``on_duty_for``, only those on duty
    for that ticket category (or ``*``)."""
    people = _cached(session, "staff",
                     lambda: session.exec(select(Recipient).where(col(Recipient.roles).contains("staff"))).all())
    chosen = []
    for r in people:
        if "staff" not in r.roles.split(","):
            continue
        if community and r.community and r.community != community:
            continue
        if on_duty_for is not None and not (r.on_duty and (r.categories == "*" or on_duty_for in r.categories.split(","))):
            continue
        chosen.append(r)
    return chosen


def on_duty_staff(session: Session, category: str) -> list[Recipient]:
    """Staff on duty whose categories include ``category`` (or ``*``)."""
    return staff(session, None, on_duty_for=category)


def audience(session: Session, name: str, data: dict) -> list[str]:
    """Principal ids of one audience of a rule (see rules.yaml)."""
    community = data.get("community")
    if name == "on_duty_staff":
        return [r.user_id for r in staff(session, community, on_duty_for=data.get("category") or "*")]
    if name == "staff":
        return [r.user_id for r in staff(session, community)]
    if name == "followers":
        return list(session.exec(select(Follower.user_id).where(Follower.ticket_id == data.get("ticket_id"))).all())
    value = data.get(name.removeprefix("field:"))
    ids = value if isinstance(value, list) else [value] if value else []
    out: list[str] = []
    for uid in ids:
        out += [r.user_id for r in staff(session, community)] if uid == "staff" else [uid]
    return out


def recipients_for(session: Session, rule: Rule, data: dict) -> list[str]:
    """Everyone a rule reaches, once each, in order; the actor of the change is left out."""
    seen: dict[str, None] = {}
    for name in rule.audiences:
        for uid in audience(session, name, data):
            if uid and uid != data.get("actor"):
                seen.setdefault(uid, None)
    return list(seen)


def follow(session: Session, data: TicketFollowed) -> None:
    """Remember a follower of a ticket (TicketFollowed)."""
    if session.get(Follower, (data.ticket_id, data.follower)) is None:
        session.add(Follower(ticket_id=data.ticket_id, user_id=data.follower))


def notify_event(ctx: ServiceContext, event: CloudEvent, data: EventData, session: Session) -> list[Notification]:
    """Apply the routing rule of ``event``'s type: inbox rows and deliveries for every recipient."""
    rule = _cached(session, ("rule", type(data).short_name()), lambda: session.get(Rule, type(data).short_name()))
    if rule is None:
        return []
    templates: Templates = ctx.state["templates"]
    payload = data.model_dump(mode="json")
    critical = is_critical(rule, payload)
    now = ctx.clock.now()
    created = []
    for uid in recipients_for(session, rule, payload):
        person = _cached(session, ("recipient", uid), lambda uid=uid: session.get(Recipient, uid))
        name = person.display_name if person else uid.split(":")[-1]
        context = template_context(type(data), payload, tz=person.timezone if person else DEFAULT_TZ,
                                   recipient_name=name)
        text = templates.render(rule.template, person.language if person else "zh-CN", context)
        note = Notification(
            recipient=uid, event_id=event.id, event_type=event.type, correlation_id=event.correlationid,
            subject=event.subject, title=text.title, body=text.full, created_at=now, category=rule.category,
            critical=critical)
        session.add(note)
        created.append(note)
        if person is None:
            continue
        channels = enabled_channels(person, rule.category)
        if channels:
            due, fold, reason = schedule(session, person, channels[0]["name"], now, critical)
            session.add(Delivery(
                id=uuid.uuid4().hex, event_id=event.id, event_type=event.type, event_source=event.source,
                event_time=event.time, correlation_id=event.correlationid, subject=event.subject, recipient=uid,
                channel=channels[0]["name"], category=rule.category, critical=critical, fold=fold, reason=reason,
                due_at=due, created_at=now, title=text.title, short=text.short, full=text.full))
    return created


def enabled_channels(person: Recipient, category: str) -> list[dict]:
    """The recipient's external channels in order, without those switched off for ``category``."""
    off = set(person.muted.get(category, []))
    return [c for c in person.channels if c.get("name") not in off]


def schedule(session: Session, person: Recipient, channel: str, now: datetime, critical: bool
             ) -> tuple[datetime, bool, str]:
    """When a delivery may go out and whether it folds with others: ``(due_at, fold, reason)``.

    Critical messages go now. Others wait for the daily digest, or the end of quiet hours, or, past
    the rate limit, for the end of the window; those are folded into one message when they fall due.
    """
    if critical:
        return now, False, "critical"
    if person.digest_hour is not None:
        return next_digest(now, person.digest_hour, person.timezone), True, "digest"
    held = quiet_until(now, person.quiet_start, person.quiet_end, person.timezone)
    if held is not None:
        return held, True, "quiet"
    if person.rate_limit > 0:
        window = timedelta(minutes=person.rate_window_minutes)
        recent = session.exec(select(func.count(), func.min(Delivery.created_at)).where(
            Delivery.recipient == person.user_id, Delivery.channel == channel, Delivery.critical == False,  # noqa: E712
            Delivery.created_at > now - window)).one()
        if recent[0] >= person.rate_limit:
            return as_utc(recent[1]) + window, True, "rate_limit"
    return now, False, "now"
