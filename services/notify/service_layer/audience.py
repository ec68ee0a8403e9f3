"""Audiences by place: who lives where (kept from accounts' events) and notices sent to a place.

notify learns homes from accounts' PersonRegistered and HouseholdMoved events (consumer group
``notify``, so with several replicas each event is applied once, in one replica, under the inbox).
A notice to a community, estate, building, unit or household reaches each person living there once:
its in-app messages are keyed by the notice's id and the person (``uq_notification_event_recipient``),
and deliveries go on each person's first channel with the same quiet hours, digest and rate limit as
routed events (:class:`~services.notify.service_layer.routing.Routing`), unless the notice is urgent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from services.notify.adapters.orm import Delivery, Notification
from services.notify.adapters.residence import Notice, Residence
from services.notify.service_layer.routing import Routing, addressee, first_channel
from shared.clock import as_utc
from shared.errors import Forbidden, Invalid, NotFound
from shared.events.accounts import HouseholdMoved, PersonRegistered
from shared.events.envelope import CloudEvent, EventData
from shared.identity import Principal
from shared.service import ServiceContext

NOTICE_TYPE = "cn.linli.notify.Notice"
NOTICE_SOURCE = "/linli/notify"
CATEGORY = "system"


def on_accounts_events(ctx: ServiceContext, events: list[tuple[CloudEvent, EventData]], session: Session) -> None:
    """Keep each person's home as the latest PersonRegistered / HouseholdMoved says (leaving: no row)."""
    for event, data in events:
        if isinstance(data, PersonRegistered | HouseholdMoved):
            settle(session, data, as_utc(event.time) if event.time else ctx.clock.now())


def settle(session: Session, data: PersonRegistered | HouseholdMoved, at: datetime) -> None:
    row = session.get(Residence, data.sub)
    if row is not None and as_utc(row.as_of) > at:
        return  # a newer move is already known
    if not data.household_id or not data.community:
        if row is not None:
            session.delete(row)
        return
    levels = {"household_id": data.household_id, "community": data.community, "estate": data.estate}
    levels |= {"building": data.building, "unit": data.unit, "as_of": at}
    if row is None:
        session.add(Residence(sub=data.sub, **levels))
    else:
        for key, value in levels.items():
            setattr(row, key, value)


def forget(session: Session, sub: str) -> None:
    """Erase a person's home (for the ResidentErased handler)."""
    row = session.get(Residence, sub)
    if row is not None:
        session.delete(row)


@dataclass(frozen=True)
class Place:
    community: str
    estate: str | None = None
    building: str | None = None
    unit: str | None = None
    household_id: str | None = None


def residents(session: Session, place: Place) -> list[str]:
    """The ``sub`` of everyone living at ``place``, once each, in a stable order."""
    query = select(Residence.sub).where(Residence.community == place.community)
    for column, value in (
        (Residence.estate, place.estate),
        (Residence.building, place.building),
        (Residence.unit, place.unit),
        (Residence.household_id, place.household_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return list(session.exec(query.order_by(col(Residence.sub))).all())


def send(
    ctx: ServiceContext, session: Session, who: Principal, place: Place, title: str, body: str, urgent: bool
) -> Notice:
    """Record a notice and give each resident of ``place`` one in-app message and one delivery."""
    if not who.has("operator") and not who.serves(place.community):
        raise Forbidden("不在您服务的社区 / not a community you serve", code="community_not_served")
    if place.unit is not None and place.building is None:
        raise Invalid("单元须与楼号一起给出 / a unit needs its building", code="unit_without_building")
    now = ctx.clock.now()
    notice = Notice(
        id=f"N{uuid.uuid4().hex[:20]}",
        community=place.community,
        estate=place.estate,
        building=place.building,
        unit=place.unit,
        household_id=place.household_id,
        title=title,
        body=body,
        urgent=urgent,
        issued_by=who.sub,
        created_at=now,
    )
    routing = Routing(ctx, session)
    people = residents(session, place)
    for uid in people:
        routing.notifications.append(
            {
                "recipient": uid,
                "event_id": notice.id,
                "event_type": NOTICE_TYPE,
                "correlation_id": notice.id,
                "subject": f"notice/{notice.id}",
                "title": title,
                "body": body,
                "created_at": now,
                "category": CATEGORY,
                "critical": urgent,
            }
        )
        reader = addressee(session, uid)
        channel = first_channel(session, reader.person, CATEGORY)
        if channel is None or reader.person is None:
            continue
        due, fold, reason = routing.schedule(reader.person, channel, urgent)
        routing.deliveries.append(
            {
                "id": uuid.uuid4().hex,
                "event_id": notice.id,
                "event_type": NOTICE_TYPE,
                "event_source": NOTICE_SOURCE,
                "event_time": now,
                "correlation_id": notice.id,
                "subject": f"notice/{notice.id}",
                "recipient": uid,
                "channel": channel,
                "category": CATEGORY,
                "critical": urgent,
                "fold": fold,
                "reason": reason,
                "status": "pending",
                "attempts": 0,
                "due_at": due,
                "created_at": now,
                "title": title,
                "short": body[:1000],
                "full": body,
            }
        )
    notice.recipients = len(people)
    session.add(notice)
    session.flush()
    routing.write()
    return notice


@dataclass(frozen=True)
class Report:
    notice: Notice
    messages: int
    read: int
    deliveries: int
    sent: int
    waiting: int
    failed: int


def report(session: Session, who: Principal, notice_id: str) -> Report:
    """A notice with its delivery report: in-app messages and how many were read, deliveries by status."""
    notice = session.get(Notice, notice_id)
    if notice is None or not (who.has("operator") or who.serves(notice.community)):
        raise NotFound("没有这条通知 / no such notice", code="notice_not_found")
    messages, read = session.exec(
        select(func.count(), func.count(col(Notification.read_at))).where(Notification.event_id == notice_id)
    ).one()
    statuses = dict(
        session.exec(
            select(Delivery.status, func.count()).where(Delivery.event_id == notice_id).group_by(Delivery.status)
        ).all()
    )
    return Report(
        notice,
        messages=messages,
        read=read,
        deliveries=sum(statuses.values()),
        sent=statuses.get("sent", 0),
        waiting=statuses.get("pending", 0) + statuses.get("sending", 0),
        failed=statuses.get("failed", 0),
    )
