"""SLA clocks: escalate missed deadlines exactly once per level, and auto-close confirmed-silent tickets."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from services.tickets.adapters.orm import Category, Ticket
from services.tickets.config import ticket_settings
from services.tickets.domain import sla
from services.tickets.domain.lifecycle import OPEN_STATES
from services.tickets.service_layer.common import event_fields, record
from shared.clock import as_utc
from shared.db.clauses import one_of
from shared.events.tickets import TicketClosed, TicketResolutionOverdue, TicketResponseOverdue
from shared.observability import SLA_ESCALATIONS
from shared.service import ServiceContext

CLAIMS = {
    ("response", 1): "response_l1_at",
    ("response", 2): "response_l2_at",
    ("resolution", 1): "resolution_l1_at",
    ("resolution", 2): "resolution_l2_at",
}


def _claim(session: Session, ticket_id: str, column: str, now: datetime, *conditions) -> bool:
    """Conditional UPDATE: only one transaction (of any replica) sets the claim column."""
    claim_col = getattr(Ticket, column)
    result = session.execute(
        update(Ticket).where(Ticket.id == ticket_id, claim_col.is_(None), *conditions).values({column: now})
    )
    return result.rowcount == 1


def escalate_due(ctx: ServiceContext, now: datetime) -> int:
    """Publish overdue events and escalate; returns how many escalations this call fired."""
    fired = 0
    with ctx.store.transaction() as session:
        windows = {
            c.code: (timedelta(hours=c.response_hours), timedelta(hours=c.resolution_hours))
            for c in session.exec(select(Category)).all()
        }
        rows = session.exec(
            select(Ticket)
            .where(
                one_of(col(Ticket.status), OPEN_STATES),
                or_(
                    (col(Ticket.first_response_due) <= now)
                    & col(Ticket.acknowledged_at).is_(None)
                    & col(Ticket.response_l2_at).is_(None),
                    (col(Ticket.resolution_due) <= now) & col(Ticket.resolution_l2_at).is_(None),
                ),
            )
            .order_by(col(Ticket.created_at))
        ).all()
        due = [t.id for t in rows if _has_unclaimed_breach(t, now, *windows.get(t.category, DEFAULT_WINDOWS))]
    for ticket_id in due:
        with ctx.store.transaction() as session:
            fired += _escalate_one(ctx, session, ticket_id, now)
    return fired


DEFAULT_WINDOWS = (timedelta(hours=24), timedelta(hours=72))


def _has_unclaimed_breach(t: Ticket, now: datetime, response_window: timedelta, resolution_window: timedelta) -> bool:
    """Whether some level of some deadline is due and not yet claimed (a cheap filter before claiming)."""
    if t.acknowledged_at is None and t.first_response_due is not None:
        level = sla.breach_level(now, as_utc(t.first_response_due), response_window)
        if (level >= 1 and t.response_l1_at is None) or (level >= 2 and t.response_l2_at is None):
            return True
    if t.resolution_due is not None:
        level = sla.breach_level(now, as_utc(t.resolution_due), resolution_window)
        if (level >= 1 and t.resolution_l1_at is None) or (level >= 2 and t.resolution_l2_at is None):
            return True
    return False


def _escalate_one(ctx: ServiceContext, session: Session, ticket_id: str, now: datetime) -> int:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.status not in OPEN_STATES:
        return 0
    category = session.get(Category, ticket.category)
    response_window, resolution_window = DEFAULT_WINDOWS
    if category is not None:
        response_window = timedelta(hours=category.response_hours)
        resolution_window = timedelta(hours=category.resolution_hours)
    fired = 0
    checks = []
    if ticket.acknowledged_at is None and ticket.first_response_due is not None:
        checks.append(
            ("response", as_utc(ticket.first_response_due), response_window, (col(Ticket.acknowledged_at).is_(None),))
        )
    if ticket.resolution_due is not None:
        checks.append(
            ("resolution", as_utc(ticket.resolution_due), resolution_window, (one_of(col(Ticket.status), OPEN_STATES),))
        )
    for kind, due, window, conditions in checks:
        for level in range(1, sla.breach_level(now, due, window) + 1):
            if not _claim(session, ticket.id, CLAIMS[(kind, level)], now, *conditions):
                continue
            target = sla.escalation_target(
                level, category.supervisor if category else None, category.secretary if category else None
            )
            session.refresh(ticket)
            ticket.escalation_level = max(ticket.escalation_level, level)
            ticket.escalated_to = target
            session.add(ticket)
            model = TicketResponseOverdue if kind == "response" else TicketResolutionOverdue
            label = "首次响应" if kind == "response" else "办结"
            record(
                session,
                ticket,
                at=now,
                actor="system:sla",
                action=f"escalate_{kind}",
                from_status=ticket.status,
                note=f"{label}超时，第{level}级升级至 {target or '-'} / {kind} overdue, level {level} escalation",
            )
            ctx.emit(
                session,
                model(
                    **event_fields(ticket, category),
                    level=level,
                    escalated_to=target,
                    due=due,
                    supervisor=category.supervisor if category else None,
                ),
                subject=ticket.id,
            )
            SLA_ESCALATIONS.labels(kind, str(level)).inc()
            fired += 1
    return fired


def auto_close(ctx: ServiceContext, now: datetime) -> int:
    """Close resolved tickets whose reporter neither rated nor reopened within the window (7 days)."""
    cutoff = now - timedelta(days=ticket_settings().auto_close_days)
    closed = 0
    with ctx.store.transaction() as session:
        ids = session.exec(
            select(Ticket.id)
            .where(Ticket.status == "resolved", col(Ticket.resolved_at) <= cutoff)
            .order_by(col(Ticket.resolved_at))
            .limit(1000)
        ).all()
    for ticket_id in ids:
        with ctx.store.transaction() as session:
            result = session.execute(
                update(Ticket)
                .where(Ticket.id == ticket_id, Ticket.status == "resolved", col(Ticket.resolved_at) <= cutoff)
                .values(status="closed", close_reason="auto_closed", closed_at=now, updated_at=now)
            )
            if result.rowcount != 1:
                continue
            ticket = session.get(Ticket, ticket_id)
            session.refresh(ticket)
            category = session.get(Category, ticket.category)
            record(
                session,
                ticket,
                at=now,
                actor="system:sla",
                action="auto_close",
                from_status="resolved",
                note="居民未确认，系统自动关闭 / closed automatically: no answer from the reporter",
            )
            ctx.emit(
                session,
                TicketClosed(**event_fields(ticket, category), reason="auto_closed", actor="system:sla"),
                subject=ticket.id,
            )
            closed += 1
    return closed
