"""小修小补 tickets followed from the activities service: booked with an artisan, resolved when the job is done.

Staff turn a 小修小补 ticket into a booking in activities (``POST /api/activities/repair-bookings/from-ticket``);
its SessionBooked acknowledges the ticket (or notes the booking in its history when it is already further
along), and RepairCompleted — the artisan marked the job done — resolves it and closes it (``repair_done``): the
resident was there when the job was done, so nothing waits for a confirmation, and she may still rate it once
(``lifecycle.RATABLE_CLOSED``). Both are idempotent through the inbox; an event for a ticket already closed
changes nothing.
"""

from __future__ import annotations

from sqlmodel import Session

from services.tickets.domain import lifecycle
from services.tickets.service_layer import workflow
from services.tickets.service_layer.common import get_ticket, record
from shared.clock import shown
from shared.errors import NotFound
from shared.events.activities import RepairCompleted, SessionBooked
from shared.messaging.consumer import RejectEvent
from shared.service import ServiceContext

ACTOR = "system:activities"


def _ticket(session: Session, ticket_id: str):
    try:
        return get_ticket(session, ticket_id, for_update=True)
    except NotFound:
        raise RejectEvent("unknown_ticket", f"no ticket {ticket_id} for a 小修小补 booking") from None


def on_booked(ctx: ServiceContext, session: Session, data: SessionBooked) -> None:
    """Acknowledge the ticket with the booking (artisan, time, place, number)."""
    if data.ticket_id is None:
        return
    ticket = _ticket(session, data.ticket_id)
    when = shown(data.slot_at or data.starts_at)
    note = f"已预约小修小补：{data.artisan_name}，{when:%m月%d日 %H:%M}，{data.place}，第 {data.number} 号"
    if ticket.status == "submitted":
        workflow.acknowledge(ctx, session, ticket.id, ACTOR, note)
    elif lifecycle.is_open(ticket.status):
        record(session, ticket, at=ctx.clock.now(), actor=ACTOR, action="booked", from_status=ticket.status, note=note)


def on_completed(ctx: ServiceContext, session: Session, data: RepairCompleted) -> None:
    """Resolve and close the ticket: the artisan has done the job."""
    if data.ticket_id is None:
        return
    ticket = _ticket(session, data.ticket_id)
    if ticket.status == "submitted":  # booked and done before the booking reached us: acknowledge first
        workflow.acknowledge(ctx, session, ticket.id, ACTOR, None)
        ticket = _ticket(session, data.ticket_id)
    done = f"{data.artisan_name} 已完成：{data.item or '小修小补'}"
    if ticket.status in lifecycle.TRANSITIONS["resolve"][0]:
        workflow.resolve(ctx, session, ticket.id, ACTOR, done)
        ticket = _ticket(session, data.ticket_id)
    if ticket.status in lifecycle.TRANSITIONS["complete"][0]:
        workflow.complete(ctx, session, ticket.id, ACTOR, done)
