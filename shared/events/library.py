"""Events of the library service on stream ``<prefix>:library`` (source ``/linli/library``).

Readers appear as an opaque ``reader_id`` and a masked card number; the national ID number never
appears in an event. Partner libraries publish :class:`BookReturned` on their ingress stream
with their own ``source`` (see docs/partners.md). ``reader_user`` is the reader's app principal id
(``resident:...``) when the reader linked an account, so notify can address the message.
"""

from __future__ import annotations

from datetime import datetime

from shared.events.envelope import EventData
from shared.events.registry import event

SOURCE = "/linli/library"


class CopyEvent(EventData):
    barcode: str
    isbn: str | None = None
    title: str | None = None


@event("cn.linli.library.BookCheckedOut.v1", SOURCE)
class BookCheckedOut(CopyEvent):
    loan_id: str
    reader_id: str
    reader_masked: str | None = None
    """No longer sent (``None``): a masked ID number still tells region and check digits."""
    branch: str
    due_at: datetime
    reader_user: str | None = None


@event("cn.linli.library.BookReturned.v1", SOURCE)
class BookReturned(CopyEvent):
    branch: str
    returned_at: datetime
    loan_id: str | None = None
    reader_id: str | None = None


@event("cn.linli.library.BookRenewed.v1", SOURCE)
class BookRenewed(CopyEvent):
    loan_id: str
    reader_id: str
    due_at: datetime
    renewals: int
    reader_user: str | None = None


@event("cn.linli.library.BookInTransit.v1", SOURCE)
class BookInTransit(CopyEvent):
    from_branch: str
    to_branch: str
    reason: str = "home"


@event("cn.linli.library.BookArrived.v1", SOURCE)
class BookArrived(CopyEvent):
    branch: str


@event("cn.linli.library.HoldPlaced.v1", SOURCE)
class HoldPlaced(EventData):
    hold_id: str
    reader_id: str
    isbn: str
    title: str | None = None
    pickup_branch: str


@event("cn.linli.library.HoldReady.v1", SOURCE)
class HoldReady(EventData):
    hold_id: str
    reader_id: str
    isbn: str
    title: str | None = None
    pickup_branch: str
    expires_at: datetime
    pickup_branch_name: str | None = None
    reader_user: str | None = None


@event("cn.linli.library.HoldExpired.v1", SOURCE)
class HoldExpired(EventData):
    hold_id: str
    reader_id: str
    isbn: str
    title: str | None = None
    reader_user: str | None = None


@event("cn.linli.library.LoanDueSoon.v1", SOURCE)
class LoanDueSoon(CopyEvent):
    loan_id: str
    reader_id: str
    due_at: datetime
    days_left: int
    reader_user: str | None = None


@event("cn.linli.library.LoanOverdue.v1", SOURCE)
class LoanOverdue(CopyEvent):
    loan_id: str
    reader_id: str
    due_at: datetime
    days_overdue: int
    reader_user: str | None = None


@event("cn.linli.library.ReaderBlocked.v1", SOURCE)
class ReaderBlocked(EventData):
    reader_id: str
    reason: str


@event("cn.linli.library.ReaderUnblocked.v1", SOURCE)
class ReaderUnblocked(EventData):
    reader_id: str
