"""Retention of the tickets store (issue 15, item 5.4): the policy as data, and the job that applies it.

A closed ticket keeps its personal fields for :data:`POLICY` ``tickets.closed`` days (a resident may
still ask about it, staff may look back), then is anonymised as an erasure would do it
(``erasure.anonymise``: the reporter becomes the tombstone; contact, description, unit, address,
coordinates, attributes, rating comment and photos go; the reporter's own notes in the history go).
Category, community, building, status, times and the rating's number stay for the statistics.
Safe in two replicas: a ticket already anonymised (reporter = tombstone) is not picked again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from services.tickets.adapters.orm import Ticket, TicketHistory
from services.tickets.service_layer.erasure import anonymise, drop_ticket_photos
from shared.erasure import TOMBSTONE, Rule
from shared.service import ServiceContext

CLOSED = Rule(
    "tickets.closed",
    what="a closed ticket's reporter, contact, description, unit, address, coordinates, photos, residents' notes",
    after="closed_at",
    days=730,
    then="anonymised (statistics kept)",
)
POLICY = (CLOSED,)
BATCH = 200


def tick(ctx: ServiceContext, now: datetime) -> int:
    """Anonymise tickets closed longer than the period; returns how many (at most :data:`BATCH` a run)."""
    cutoff = CLOSED.cutoff(now)
    with ctx.store.transaction() as session:
        due = list(
            session.scalars(
                select(Ticket)
                .where(Ticket.closed_at.is_not(None), Ticket.closed_at < cutoff)  # type: ignore[union-attr,operator]
                .where(or_(Ticket.reporter.is_(None), Ticket.reporter != TOMBSTONE))  # type: ignore[union-attr]
                .order_by(Ticket.closed_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        for ticket in due:
            reporter = ticket.reporter
            if reporter:
                for entry in session.scalars(
                    select(TicketHistory).where(TicketHistory.ticket_id == ticket.id, TicketHistory.actor == reporter)
                ):
                    entry.actor, entry.note = TOMBSTONE, None
                    session.add(entry)
            anonymise(session, ticket, now)
        session.flush()
        drop_ticket_photos(ctx, session, [t.id for t in due])
    return len(due)
