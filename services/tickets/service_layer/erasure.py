"""Erasing a resident from the tickets store (``ResidentErased``), and anonymising a ticket.

A report stays for the statistics (category, community, building, status, every time and deadline,
the rating's number), with its reporter replaced by the tombstone and what the reporter wrote or
gave removed: title (the category's name instead), description, unit, address, coordinates,
attributes, contact, rating comment, their photos. History entries they made keep the action and
time; their notes go. Follows are deleted. Staff columns (assignee, escalation) that name them are
tombstoned too, for a staff member erased.

Safe to repeat (the consumer's inbox applies an event once, and every step finds nothing left the
second time). Photo files are removed once no row refers to them; a file shared with another ticket
stays.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import delete, event, or_, select
from sqlmodel import Session

from services.tickets.adapters.orm import Category, Follower, StaffDuty, Ticket, TicketHistory, TicketPhoto
from services.tickets.adapters.photo_store import PhotoStoreUnavailable
from services.tickets.adapters.photos import EXT
from services.tickets.service_layer.common import photo_store
from shared.erasure import ERASED_TEXT, TOMBSTONE, retire
from shared.service import ServiceContext

log = logging.getLogger("linli.tickets")

ACTOR_COLUMNS: tuple[Any, ...] = (Ticket.assignee, Ticket.escalated_to, TicketHistory.actor)
"""Columns holding a principal id that stay, tombstoned, when that principal is erased."""


def erase_person(ctx: ServiceContext, session: Session, sub: str, now: datetime) -> int:
    """Anonymise ``sub``'s reports, notes and photos and drop their follows; the number of rows changed."""
    reports = list(session.scalars(select(Ticket).where(Ticket.reporter == sub)))
    for ticket in reports:
        anonymise(session, ticket, now)
    own = [t.id for t in reports]
    notes = list(session.scalars(select(TicketHistory).where(TicketHistory.actor == sub)))
    for entry in notes:
        entry.note = None
        session.add(entry)
    session.flush()
    changed = len(reports) + len(notes) + _drop_photos(ctx, session, own, [e.id for e in notes if e.id is not None])
    changed += retire(session, sub, ACTOR_COLUMNS)
    changed += _count(session.execute(delete(Follower).where(Follower.follower == sub)))  # type: ignore[arg-type]
    changed += _count(session.execute(delete(StaffDuty).where(StaffDuty.staff_id == sub)))  # type: ignore[arg-type]
    return changed


def anonymise(session: Session, ticket: Ticket, now: datetime) -> None:
    """Remove what identifies the reporter or their home from one ticket; statistics stay."""
    category = session.get(Category, ticket.category)
    ticket.reporter = TOMBSTONE
    ticket.title = (category.name if category else ticket.category) or ERASED_TEXT
    ticket.description = ""
    ticket.unit = ticket.address = None
    ticket.lat = ticket.lon = None
    ticket.attributes, ticket.contact = {}, {}
    ticket.rating_comment = None
    ticket.token = None
    session.add(ticket)


def drop_ticket_photos(ctx: ServiceContext, session: Session, ticket_ids: list[str]) -> int:
    """Delete the photo rows of these tickets and the files no other row uses."""
    return _drop_photos(ctx, session, ticket_ids, [])


def _drop_photos(ctx: ServiceContext, session: Session, ticket_ids: list[str], history_ids: list[int]) -> int:
    if not ticket_ids and not history_ids:
        return 0
    clauses = []
    if ticket_ids:
        clauses.append(TicketPhoto.ticket_id.in_(ticket_ids))  # type: ignore[attr-defined]
    if history_ids:
        clauses.append(TicketPhoto.history_id.in_(history_ids))  # type: ignore[union-attr]
    rows = list(session.scalars(select(TicketPhoto).where(or_(*clauses))))
    files = {(r.sha256, r.kind) for r in rows} | {
        (r.display_sha256, r.display_kind) for r in rows if r.display_sha256 and r.display_kind
    }
    for row in rows:
        session.delete(row)
    session.flush()
    store = photo_store(ctx)
    unused = []
    for sha, kind in sorted(files):
        used = session.scalars(
            select(TicketPhoto.id).where(or_(TicketPhoto.sha256 == sha, TicketPhoto.display_sha256 == sha))
        ).first()
        if used is None and kind in EXT:
            unused.append((sha, kind))

    def unlink_unused(_session: Session) -> None:
        for sha, kind in unused:
            try:
                store.delete(sha, kind)
            except PhotoStoreUnavailable:  # the rows are gone: say which object an operator must remove
                log.warning("erased photo not removed from the store", extra={"sha256": sha, "kind": kind})

    # Files go only once the rows are gone for good: a unit of work may roll back or run twice.
    event.listen(session, "after_commit", unlink_unused, once=True)
    return len(rows)


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
