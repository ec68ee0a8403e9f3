"""Holds on titles: place (with a pickup branch), cancel, and expiry of uncollected holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from services.library.adapters.orm import Copy, Hold, Reader
from services.library.domain.isbn import normalize_isbn
from services.library.domain.status import CopyStatus
from services.library.service_layer import common, readers, scope
from services.library.service_layer.circulation import ACTIVE_HOLD, hold_ready, route_copy
from shared.errors import Conflict, NotFound
from shared.events.library import HoldExpired, HoldPlaced
from shared.identity import Principal
from shared.ids import new_id


def place(ctx, session: Session, reader: Reader, isbn: str, pickup_branch: str) -> Hold:
    """Queue a hold; a copy already on the pickup branch's shelf is set aside at once."""
    now = ctx.clock.now()
    title = common.title(session, isbn)
    pickup = common.branch(session, pickup_branch)
    if session.execute(
        select(Hold.id).where(Hold.reader_id == reader.id, Hold.isbn == isbn, Hold.status.in_(ACTIVE_HOLD))
    ).first():
        raise Conflict("您已预约此书 / you already hold this title", code="already_held")
    hold = Hold(id=new_id("H"), reader_id=reader.id, isbn=isbn, pickup_branch=pickup.code, placed_at=now)
    session.add(hold)
    session.flush()
    ctx.emit(
        session,
        HoldPlaced(hold_id=hold.id, reader_id=reader.id, isbn=isbn, title=title.title, pickup_branch=pickup.code),
        subject=hold.id,
    )
    shelf = session.execute(
        select(Copy)
        .where(Copy.isbn == isbn, Copy.location == pickup.code, Copy.status == CopyStatus.AVAILABLE)
        .order_by(Copy.barcode)
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()
    if shelf is not None and _first_waiting(session, isbn) == hold.id:
        shelf.status, shelf.hold_id, shelf.updated_at = CopyStatus.AWAITING_PICKUP, hold.id, now
        session.add(shelf)
        hold_ready(ctx, session, hold, shelf, now)
    return hold


def place_for(
    ctx,
    session: Session,
    who: Principal,
    *,
    isbn: str,
    pickup_branch: str,
    card: str | None = None,
    qr: str | None = None,
    reader_id: str | None = None,
) -> Hold:
    """Place a hold for the reader staff identify (pickup at a branch they serve), or for the resident's own card."""
    if who.has("staff", "operator"):
        scope.require_branch(session, who, pickup_branch)
        reader = readers.identify(session, card=card, qr=qr, reader_id=reader_id)
    else:
        reader = readers.by_user(session, who.sub)
    return place(ctx, session, reader, normalize_isbn(isbn), pickup_branch)


def cancel_as(ctx, session: Session, who: Principal, hold_id: str) -> Hold:
    """Cancel a hold for staff of its pickup branch, or for the resident whose hold it is."""
    hold = common.hold(session, hold_id)
    if who.has("staff", "operator") and scope.serves_branch(session, who, hold.pickup_branch):
        return cancel(ctx, session, hold)
    if not who.has("resident") or readers.by_user(session, who.sub).id != hold.reader_id:
        raise NotFound(f"没有这个预约 / no hold {hold_id}")
    return cancel(ctx, session, hold)


def _first_waiting(session: Session, isbn: str) -> str | None:
    return session.execute(
        select(Hold.id).where(Hold.isbn == isbn, Hold.status == "waiting").order_by(Hold.placed_at, Hold.id).limit(1)
    ).scalar_one_or_none()


def _release_copy(ctx, session: Session, hold: Hold, now: datetime, causation=None) -> None:
    """A copy set aside for a hold that ended goes to the next hold, home, or back on the shelf."""
    if not hold.barcode:
        return
    copy = common.copy_for_update(session, hold.barcode)
    if copy.hold_id != hold.id:
        return
    copy.hold_id = None
    if copy.status == CopyStatus.AWAITING_PICKUP:
        route_copy(ctx, session, copy, common.branch(session, copy.location), now, causation)
    # a copy in transit keeps going; the arrival scan routes it again


def cancel(ctx, session: Session, hold: Hold) -> Hold:
    """Cancel an active hold; a copy set aside for it goes to the next reader or home."""
    if hold.status not in ACTIVE_HOLD:
        raise Conflict(f"预约已结束，不能取消 / the hold is already {hold.status}", code="hold_closed")
    now = ctx.clock.now()
    hold.status, hold.closed_at = "cancelled", now
    session.add(hold)
    session.flush()
    _release_copy(ctx, session, hold, now)
    return hold


def expire_due(ctx, now: datetime) -> int:
    """Expire ready holds past their pickup deadline; each claimed by a conditional UPDATE (replica-safe)."""
    with ctx.store.transaction() as session:
        due = session.execute(select(Hold.id).where(Hold.status == "ready", Hold.expires_at <= now)).scalars().all()
    fired = 0
    for hold_id in due:
        with ctx.store.transaction() as session:
            claimed = session.execute(
                update(Hold).where(Hold.id == hold_id, Hold.status == "ready").values(status="expired", closed_at=now)
            ).rowcount
            if claimed != 1:
                continue
            hold = session.get(Hold, hold_id)
            session.refresh(hold)
            ctx.emit(session, HoldExpired(**common.hold_facts(session, hold)), subject=hold.id)
            _release_copy(ctx, session, hold, now)
            fired += 1
    return fired
