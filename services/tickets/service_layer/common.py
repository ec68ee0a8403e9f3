"""Helpers shared by the use cases: loading, history, event fields, photo store."""

from __future__ import annotations

import time
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Engine, Insert, Table, insert
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel, select

from services.tickets.adapters.orm import Category, Ticket, TicketHistory, TicketPhoto
from services.tickets.adapters.photo_store import PhotoStorage, open_photos
from services.tickets.adapters.photos import EXT, CleanPhoto
from shared.db.driver import flushed, insert_row
from shared.db.rows import new_row
from shared.errors import NotFound
from shared.ids import new_id
from shared.service import ServiceContext

Row = TypeVar("Row", bound=SQLModel)


def new_ticket_id() -> str:
    """``T`` and 12 upper-case hex characters (``T3F9A0C21B7E4``), as tickets have always been numbered."""
    return "T" + new_id().upper()


def photo_store(ctx: ServiceContext) -> PhotoStorage:
    """The service's photo store: ``<LINLI_VAR_DIR>/media/tickets``, or the S3-compatible store that
    ``TICKETS_PHOTOS_*`` names (``adapters/photo_store.py``); opened once per context."""
    store: PhotoStorage | None = ctx.state.get("photos")
    if store is None:
        store = ctx.state["photos"] = open_photos(ctx.settings.var_dir)
    return store


def media_path(photo: TicketPhoto) -> str:
    """The API path of the photo views show: its display copy when it has one (prefix with the server's
    base URL for a full ``media_url``)."""
    if photo.display_sha256 and photo.display_kind:
        return f"/api/tickets/media/{photo.display_sha256}.{EXT[photo.display_kind]}"
    return original_path(photo)


def original_path(photo: TicketPhoto) -> str:
    """The API path of the photo as uploaded (re-encoded without metadata)."""
    return f"/api/tickets/media/{photo.sha256}.{EXT[photo.kind]}"


def get_ticket(session: Session, ticket_id: str, *, for_update: bool = False) -> Ticket:
    query = select(Ticket).where(Ticket.id == ticket_id)
    if for_update:  # lock the row and re-read it even if this session loaded it before
        query = query.with_for_update().execution_options(populate_existing=True)
    ticket = session.exec(query).first()
    if ticket is None:
        raise NotFound(f"工单不存在 / no ticket {ticket_id}")
    return ticket


CATEGORY_TTL_S = 5.0
_categories: dict[tuple[Engine, str], tuple[float, Category]] = {}


def get_category(session: Session, code: str) -> Category:
    """An active category, for reading (every report needs one).

    Categories change rarely and every create reads one, so this process keeps a detached copy for
    :data:`CATEGORY_TTL_S` seconds; :func:`forget_category` (called when one is saved here) drops it at
    once. Another replica sees a change within that time.
    """
    key = (session.get_bind().engine, code)  # bound to an engine, or to a kept connection (not its URL: ~5 µs)
    hit = _categories.get(key)
    if hit is not None and hit[0] > time.monotonic():
        category = hit[1]
    else:
        found = session.get(Category, code)
        category = Category.model_validate(found.model_dump()) if found is not None else None
        if category is not None:
            _categories[key] = (time.monotonic() + CATEGORY_TTL_S, category)
    if category is None or not category.active:
        raise NotFound(f"类别不存在 / no category {code}")
    return category


def forget_category(code: str) -> None:
    """Drop the cached copies of a category (after it was changed)."""
    for key in [k for k in _categories if k[1] == code]:
        _categories.pop(key, None)


def event_fields(ticket: Ticket, category: Category | None = None) -> dict[str, Any]:
    """The fields every ticket event carries (ids only, no personal data)."""
    return dict(
        ticket_id=ticket.id,
        category=ticket.category,
        community=ticket.community,
        category_name=category.name if category else None,
        category_name_en=category.name_en if category else None,
        safety_critical=bool(category.safety_critical) if category else False,
        title=ticket.title,
        reporter=ticket.reporter,
        assignee=ticket.assignee,
    )


def record(
    session: Session,
    ticket: Ticket,
    *,
    at: datetime,
    actor: str | None,
    action: str,
    from_status: str | None,
    note: str | None = None,
) -> TicketHistory:
    """Append one history entry (the ticket's status is already the new one).

    Entries are an append-only log, never changed once written, so the new one is not kept in the
    session (``insert_now(keep=False)``): tracking it cost a create ~4 % of its instructions."""
    entry = new_row(
        TicketHistory,
        ticket_id=ticket.id,
        at=at,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=ticket.status,
        note=note,
    )
    return insert_now(session, entry, keep=False)


@cache
def _insert(table: Table) -> Insert:
    return insert(table)


def insert_now(session: Session, row: Row, *, keep: bool = True) -> Row:
    """INSERT a new ``row`` at once, with a statement built once per table (a unit-of-work flush of
    one new object costs several times more), and keep it in ``session`` as a stored row: later
    changes to it are UPDATEs as usual. A generated primary key is set on ``row``. With ``keep=False``
    (a row never changed later) it is left out of the session: a change to it would not be stored.

    On SQLite the INSERT goes to the driver (:mod:`shared.db.driver`): through ``session.execute``
    its statement machinery cost more than the INSERT itself, twice per create."""
    connection = flushed(session)  # the changes made before this row reach the store first
    table = type(row).__table__
    state = row.__dict__  # a new row holds every field there (new_row, or the model's constructor)
    values = {c.key: state.get(c.key) for c in table.columns}
    generated = [c.key for c in table.primary_key.columns if values[c.key] is None]
    for key in generated:
        del values[key]
    rowid = insert_row(connection, table, values) if len(generated) <= 1 else None  # SQLite's key: the rowid
    keys = (rowid,) if rowid is not None else session.execute(_insert(table), values).inserted_primary_key or ()
    if not keep:  # a transient row: its key straight into its state, past the models' attribute hooks
        row.__dict__.update(zip(generated, keys, strict=False))
        return row
    for key, value in zip(generated, keys, strict=False):
        setattr(row, key, value)
    make_transient_to_detached(row)
    session.add(row)
    return row


def attach_photos(
    ctx: ServiceContext,
    session: Session,
    ticket: Ticket,
    photos: list[CleanPhoto],
    history_id: int | None,
) -> list[TicketPhoto]:
    """Store cleaned photos on disk and link them; returns the new links (a photo the ticket already has
    is not linked twice).

    Safe to run twice (a unit of work may, see ``shared/web/runner.py``): the files are content-addressed
    and written atomically, and they are never removed if the transaction fails afterwards. With a
    remote store the routes have uploaded them already (:func:`~services.tickets.service_layer.media.clean_photos`),
    so ``put`` finds them known.
    """
    store = photo_store(ctx)
    added: list[TicketPhoto] = []
    seen = {p.sha256 for p in session.exec(select(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id)).all()}
    for photo in photos:
        store.put(photo)
        if photo.sha256 in seen:
            continue
        seen.add(photo.sha256)
        added.append(
            TicketPhoto(
                ticket_id=ticket.id,
                history_id=history_id,
                sha256=photo.sha256,
                kind=photo.kind,
                size=len(photo.data),
                created_at=ctx.clock.now(),
                display_sha256=photo.display.sha256 if photo.display else None,
                display_kind=photo.display.kind if photo.display else None,
            )
        )
    session.add_all(added)
    return added
