"""Staff and reporter actions on a ticket: each checks the state machine, records history and an event."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from services.tickets.adapters.orm import Category, Ticket
from services.tickets.adapters.photos import CleanPhoto
from services.tickets.config import ticket_settings
from services.tickets.domain import lifecycle, sla
from services.tickets.service_layer import staff as roster
from services.tickets.service_layer.common import attach_photos, event_fields, get_ticket, record
from shared.clock import as_utc
from shared.errors import Conflict, Forbidden, Invalid
from shared.events.tickets import (
    TicketAcknowledged,
    TicketAssigned,
    TicketClosed,
    TicketRated,
    TicketReopened,
    TicketResolved,
    TicketStatusChanged,
)
from shared.service import ServiceContext


def _move(
    ctx: ServiceContext,
    session: Session,
    ticket_id: str,
    action: str,
    actor: str | None,
    note: str | None,
    photos: list[CleanPhoto] | None = None,
) -> tuple[Ticket, Category | None, str]:
    ticket = get_ticket(session, ticket_id, for_update=True)
    before = ticket.status
    try:
        ticket.status = lifecycle.next_state(action, before)
    except lifecycle.IllegalTransition as exc:
        raise Conflict(str(exc), code="illegal_transition") from None
    ticket.updated_at = ctx.clock.now()
    session.add(ticket)
    entry = record(session, ticket, at=ticket.updated_at, actor=actor, action=action, from_status=before, note=note)
    if photos:
        attach_photos(ctx, session, ticket, photos, entry.id)
    return ticket, session.get(Category, ticket.category), before


def template_note(session: Session, ticket_id: str, state: str, index: int | None, note: str | None) -> str | None:
    """The note to record: ``note`` as written, or the category's template ``index`` for ``state``."""
    if index is None:
        return note
    ticket = get_ticket(session, ticket_id)
    category = session.get(Category, ticket.category)
    options = (category.templates or {}).get(state, []) if category else []
    if not 0 <= index < len(options):
        raise Invalid(f"没有第 {index} 个回复模板 / no response template {index} for {state}", code="no_template")
    return options[index] + (f"（{note}）" if note else "")


def acknowledge(ctx: ServiceContext, session: Session, ticket_id: str, actor: str, note: str | None = None) -> Ticket:
    """First response; then round-robin assignment when the category's pool has someone on duty."""
    ticket, category, _ = _move(ctx, session, ticket_id, "acknowledge", actor, note)
    ticket.acknowledged_at = ticket.updated_at
    ctx.emit(session, TicketAcknowledged(**event_fields(ticket, category), actor=actor, note=note), subject=ticket.id)
    if ticket.assignee is None and category is not None:
        chosen = roster.next_on_duty(session, category, ctx.clock.now())
        if chosen is not None:
            ticket = assign(
                ctx,
                session,
                ticket_id,
                "system:round-robin",
                chosen.staff_id,
                f"自动派单给 {chosen.display_name or chosen.staff_id}",
            )
    return ticket


def assign(
    ctx: ServiceContext,
    session: Session,
    ticket_id: str,
    actor: str | None,
    assignee: str | None = None,
    note: str | None = None,
) -> Ticket:
    """Assign to ``assignee``, or round-robin among the pool's on-duty staff when none is named."""
    ticket = get_ticket(session, ticket_id, for_update=True)
    category = session.get(Category, ticket.category)
    if assignee is None:
        chosen = roster.next_on_duty(session, category, ctx.clock.now()) if category else None
        if chosen is None:
            raise Conflict(
                f"类别 {ticket.category} 无人值班 / nobody is on duty for {ticket.category}", code="nobody_on_duty"
            )
        assignee = chosen.staff_id
    previous = ticket.assignee
    ticket, category, _ = _move(ctx, session, ticket_id, "assign", actor, note or f"派单给 {assignee}")
    ticket.assignee = assignee
    ctx.emit(
        session,
        TicketAssigned(**event_fields(ticket, category), actor=actor, previous_assignee=previous),
        subject=ticket.id,
    )
    return ticket


def start(ctx: ServiceContext, session: Session, ticket_id: str, actor: str, note: str | None = None) -> Ticket:
    ticket, category, before = _move(ctx, session, ticket_id, "start", actor, note)
    ctx.emit(
        session,
        TicketStatusChanged(
            **event_fields(ticket, category), from_status=before, to_status=ticket.status, actor=actor, note=note
        ),
        subject=ticket.id,
    )
    return ticket


def resolve(
    ctx: ServiceContext,
    session: Session,
    ticket_id: str,
    actor: str,
    note: str | None = None,
    photos: list[CleanPhoto] | None = None,
) -> Ticket:
    """Work done: the reporter now confirms with a rating or reopens."""
    ticket, category, _ = _move(ctx, session, ticket_id, "resolve", actor, note, photos)
    ticket.resolved_at = ticket.updated_at
    if ticket.acknowledged_at is None:
        ticket.acknowledged_at = ticket.updated_at
    ctx.emit(
        session,
        TicketResolved(
            **event_fields(ticket, category), actor=actor, note=note, source_hazard_id=ticket.source_hazard_id
        ),
        subject=ticket.id,
    )
    return ticket


def close(
    ctx: ServiceContext, session: Session, ticket_id: str, actor: str, reason: str, note: str | None = None
) -> Ticket:
    """Staff close without fixing: duplicate, not_responsible or rejected (a note says why)."""
    if reason not in lifecycle.STAFF_CLOSE_REASONS:
        raise Invalid(
            f"关闭原因无效 / reason must be one of {', '.join(lifecycle.STAFF_CLOSE_REASONS)}", code="close_reason"
        )
    if not note:
        raise Invalid("关闭需要说明 / closing needs a note", code="note_required")
    return _closed(ctx, session, ticket_id, "close", actor, reason, note)


def withdraw(ctx: ServiceContext, session: Session, ticket_id: str, actor: str, note: str | None = None) -> Ticket:
    """The reporter withdraws their own report before work has started."""
    _own(session, ticket_id, actor)
    return _closed(ctx, session, ticket_id, "withdraw", actor, "withdrawn", note)


def complete(ctx: ServiceContext, session: Session, ticket_id: str, actor: str, note: str | None = None) -> Ticket:
    """A resolved 小修小补 ticket closes as ``repair_done`` when the artisan marked the job done; the reporter may
    still rate it."""
    return _closed(ctx, session, ticket_id, "complete", actor, "repair_done", note)


def _closed(
    ctx: ServiceContext, session: Session, ticket_id: str, action: str, actor: str, reason: str, note: str | None
) -> Ticket:
    ticket, category, _ = _move(ctx, session, ticket_id, action, actor, note)
    ticket.close_reason = reason
    ticket.closed_at = ticket.updated_at
    ctx.emit(session, TicketClosed(**event_fields(ticket, category), reason=reason, actor=actor), subject=ticket.id)
    return ticket


def _own(session: Session, ticket_id: str, actor: str) -> Ticket:
    ticket = get_ticket(session, ticket_id)
    if ticket.reporter != actor:
        raise Forbidden("只有报事人可以操作 / only the reporter may do this", code="not_reporter")
    return ticket


def rate(
    ctx: ServiceContext, session: Session, ticket_id: str, actor: str, rating: int, comment: str | None = None
) -> Ticket:
    """The reporter confirms the fix with 1-5 stars; the ticket closes as ``confirmed`` (one closed when its
    小修小补 job was done stays closed as it was: ``lifecycle.rating_action``)."""
    mine = _own(session, ticket_id, actor)
    if not 1 <= rating <= 5:
        raise Invalid("评分应为 1-5 / rating must be 1 to 5")
    action = lifecycle.rating_action(mine.status, mine.close_reason, mine.rating is not None)
    ticket, category, _ = _move(ctx, session, ticket_id, action, actor, comment)
    ticket.rating, ticket.rating_comment = rating, comment
    ctx.emit(
        session,
        TicketRated(**event_fields(ticket, category), rating=rating, actor=actor),
        subject=ticket.id,
    )
    if action == "rate_closed":
        return ticket
    ticket.close_reason, ticket.closed_at = "confirmed", ticket.updated_at
    ctx.emit(
        session, TicketClosed(**event_fields(ticket, category), reason="confirmed", actor=actor), subject=ticket.id
    )
    return ticket


def reopen(ctx: ServiceContext, session: Session, ticket_id: str, actor: str, comment: str) -> Ticket:
    """The reporter reopens within the reopen window (14 days), saying what is still wrong."""
    ticket = _own(session, ticket_id, actor)
    if not (comment or "").strip():
        raise Invalid("重新打开需要说明原因 / reopening needs a comment", code="comment_required")
    window = timedelta(days=ticket_settings().reopen_days)
    if ticket.resolved_at is not None and ctx.clock.now() > as_utc(ticket.resolved_at) + window:
        raise Conflict(
            f"已超过 {window.days} 天，不能重新打开 / the {window.days}-day reopen window has passed",
            code="reopen_window",
        )
    ticket, category, _ = _move(ctx, session, ticket_id, "reopen", actor, comment)
    now = ticket.updated_at
    if category is not None:
        ticket.resolution_due = sla.deadlines(now, category.response_hours, category.resolution_hours).resolution_due
    ticket.resolved_at = None
    ticket.resolution_l1_at = ticket.resolution_l2_at = None
    ctx.emit(session, TicketReopened(**event_fields(ticket, category), actor=actor), subject=ticket.id)
    return ticket
