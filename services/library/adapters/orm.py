"""The library store: branches, titles, copies, readers, loans, holds, policies, partner keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, MetaData, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox
from shared.privacy import AccessLog

metadata = MetaData()
TZ = DateTime(timezone=True)
outbox = Outbox(metadata, default_stream="library")
inbox = Inbox(metadata)
access_log = AccessLog(metadata)


class LibraryTable(SQLModel):
    """Base of the library's tables (its own metadata)."""

    metadata = metadata


class Branch(LibraryTable, table=True):
    """A book house or a partner library desk, with a stable ISIL-style code."""

    __tablename__ = "branch"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=100)
    institution: str = Field(index=True, max_length=32)
    floating: bool = False
    community: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=200)


class Title(LibraryTable, table=True):
    """A title by ISBN-13."""

    __tablename__ = "title"

    isbn: str = Field(primary_key=True, max_length=13)
    title: str = Field(max_length=300)
    author: str | None = Field(default=None, max_length=200)
    publisher: str | None = Field(default=None, max_length=200)


class Copy(LibraryTable, table=True):
    """One physical copy by barcode: home branch, current location and status."""

    __tablename__ = "copy"

    barcode: str = Field(primary_key=True, max_length=32)
    isbn: str = Field(index=True, max_length=13)
    home_branch: str = Field(index=True, max_length=32)
    location: str = Field(index=True, max_length=32)
    status: str = Field(default="available", index=True, max_length=20)
    transit_to: str | None = Field(default=None, max_length=32)
    transit_since: datetime | None = Field(default=None, sa_type=TZ)
    hold_id: str | None = Field(default=None, max_length=32)
    updated_at: datetime = Field(sa_type=TZ)


class Reader(LibraryTable, table=True):
    """A reader: keyed hash and masked form of the ID number only, optional app account."""

    __tablename__ = "reader"

    id: str = Field(primary_key=True, max_length=32)
    id_hash: str = Field(unique=True, max_length=64)
    id_masked: str = Field(max_length=18)
    name: str = Field(max_length=64)
    group: str = Field(default="adult", max_length=32)
    user: str | None = Field(default=None, unique=True, max_length=128)
    qr_hash: str | None = Field(default=None, unique=True, max_length=64)
    blocked_reason: str | None = Field(default=None, max_length=300)
    blocked_at: datetime | None = Field(default=None, sa_type=TZ)
    created_at: datetime = Field(sa_type=TZ)


class Loan(LibraryTable, table=True):
    """A loan of one copy to one reader; notices are claimed with conditional updates on it."""

    __tablename__ = "loan"
    __table_args__ = (
        Index("ix_loan_open", "reader_id", "returned_at"),
        Index(
            "uq_loan_open_copy",
            "barcode",
            unique=True,
            sqlite_where=text("returned_at IS NULL"),
            postgresql_where=text("returned_at IS NULL"),
        ),
    )

    id: str = Field(primary_key=True, max_length=32)
    barcode: str = Field(index=True, max_length=32)
    reader_id: str = Field(max_length=32)
    branch: str = Field(max_length=32)
    checked_out_at: datetime = Field(sa_type=TZ)
    due_at: datetime = Field(index=True, sa_type=TZ)
    renewals: int = 0
    returned_at: datetime | None = Field(default=None, sa_type=TZ)
    returned_branch: str | None = Field(default=None, max_length=32)
    due_soon_for: datetime | None = Field(default=None, sa_type=TZ)
    overdue_stage: int = 0


class Hold(LibraryTable, table=True):
    """A hold on a title: waiting -> in_transit -> ready -> fulfilled | expired | cancelled."""

    __tablename__ = "hold"
    __table_args__ = (Index("ix_hold_queue", "isbn", "status", "placed_at"),)

    id: str = Field(primary_key=True, max_length=32)
    reader_id: str = Field(index=True, max_length=32)
    isbn: str = Field(max_length=13)
    pickup_branch: str = Field(max_length=32)
    status: str = Field(default="waiting", index=True, max_length=16)
    placed_at: datetime = Field(sa_type=TZ)
    barcode: str | None = Field(default=None, max_length=32)
    ready_at: datetime | None = Field(default=None, sa_type=TZ)
    expires_at: datetime | None = Field(default=None, sa_type=TZ)
    closed_at: datetime | None = Field(default=None, sa_type=TZ)


class LoanPolicy(LibraryTable, table=True):
    """Loan rules for a branch and reader group; ``*`` matches any (the most specific rule wins)."""

    __tablename__ = "loan_policy"
    __table_args__ = (UniqueConstraint("branch", "reader_group", name="uq_policy_branch_group"),)

    id: int | None = Field(default=None, primary_key=True)
    branch: str = Field(default="*", max_length=32)
    reader_group: str = Field(default="*", max_length=32)
    max_loans: int
    loan_days: int
    max_renewals: int
    renewal_days: int


class PartnerKey(LibraryTable, table=True):
    """An HTTPS ingress key of a partner: only a SHA-256 of the derived secret is stored."""

    __tablename__ = "partner_key"

    key_id: str = Field(primary_key=True, max_length=32)
    partner: str = Field(index=True, max_length=32)
    secret_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=TZ)
    revoked_at: datetime | None = Field(default=None, sa_type=TZ)
