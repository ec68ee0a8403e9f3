"""Who hears about what: event -> recipients -> in-app notifications."""

from __future__ import annotations

from sqlmodel import Session, select

from services.notify.adapters.orm import Notification, Recipient
from shared.events.envelope import CloudEvent
from shared.events.tickets import TicketOpened
from shared.runtime import ServiceContext


def on_duty_staff(session: Session, category: str) -> list[Recipient]:
    """Staff on duty whose categories include ``category`` (or ``*``)."""
    staff = session.exec(select(Recipient).where(Recipient.on_duty == True)).all()  # noqa: E712
    return [r for r in staff if "staff" in r.roles.split(",")
            and (r.categories == "*" or category in r.categories.split(","))]


def ticket_opened(ctx: ServiceContext, event: CloudEvent, data: TicketOpened, session: Session) -> list[Notification]:
    """TicketOpened -> an in-app message for each on-duty staff member of the category."""
    created = []
    place = " ".join(p for p in (data.community, data.building and f"{data.building}号楼", data.unit and f"{data.unit}单元") if p)
    for person in on_duty_staff(session, data.category):
        note = Notification(
            recipient=person.user_id, event_id=event.id, event_type=event.type, correlation_id=event.correlationid,
            subject=event.subject, title=f"新报事：{data.title}", body=f"{place} · {data.category} · 工单 {data.ticket_id}",
            created_at=ctx.clock.now(),
        )
        session.add(note)
        created.append(note)
    return created
