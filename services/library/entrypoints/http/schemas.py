"""Request bodies (``Body``) and response models (``View``) of the library's routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from shared.web.fields import INT32, Body, View

# -- requests ---------------------------------------------------------------------------------------


class BranchIn(Body):
    name: str = Field(min_length=1, max_length=100, examples=["智汇城漂流书屋"])
    institution: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.:\-]+$", examples=["LINLI"])
    floating: bool = False
    community: str | None = Field(default=None, min_length=1, max_length=64)
    address: str | None = Field(default=None, max_length=200)


class TitleIn(Body):
    isbn: str = Field(min_length=10, max_length=20, examples=["9787020002207"])
    title: str = Field(min_length=1, max_length=300, examples=["红楼梦"])
    author: str | None = Field(default=None, max_length=200)
    publisher: str | None = Field(default=None, max_length=200)


class CopyIn(Body):
    barcode: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$", examples=["ZHC-0001"])
    isbn: str = Field(min_length=10, max_length=20)
    home_branch: str = Field(min_length=1, max_length=32)


class StatusIn(Body):
    status: str = Field(min_length=1, max_length=20, examples=["missing"])


class PolicyIn(Body):
    branch: str = Field(default="*", min_length=1, max_length=32)
    reader_group: str = Field(default="*", min_length=1, max_length=32)
    max_loans: int = Field(ge=0, le=100)
    loan_days: int = Field(ge=1, le=365)
    max_renewals: int = Field(ge=0, le=10)
    renewal_days: int = Field(ge=1, le=365)


class ReaderIn(Body):
    id_number: str = Field(min_length=1, max_length=32, examples=["11010519491231002X"])
    name: str = Field(min_length=1, max_length=64)
    group: str = Field(default="adult", min_length=1, max_length=32)
    user: str | None = Field(default=None, min_length=1, max_length=128)


class SelfReaderIn(Body):
    id_number: str = Field(min_length=1, max_length=32, examples=["11010519491231002X"])
    name: str = Field(min_length=1, max_length=64)


class WhoIn(Body):
    """Identify a reader by exactly one of: ID card number, app QR token, reader id."""

    card: str | None = Field(default=None, min_length=1, max_length=32)
    qr: str | None = Field(default=None, min_length=1, max_length=64)
    reader_id: str | None = Field(default=None, min_length=1, max_length=32)


class CheckoutIn(WhoIn):
    barcode: str = Field(min_length=1, max_length=32)
    branch: str = Field(min_length=1, max_length=32)


class ScanIn(Body):
    barcode: str = Field(min_length=1, max_length=32)
    branch: str = Field(min_length=1, max_length=32)


class HoldIn(WhoIn):
    isbn: str = Field(min_length=10, max_length=20)
    pickup_branch: str = Field(min_length=1, max_length=32)


class LinkIn(Body):
    user: str = Field(min_length=1, max_length=128)


class BlockIn(Body):
    reason: str = Field(min_length=1, max_length=300)


# -- responses --------------------------------------------------------------------------------------


class BranchView(View):
    code: str
    name: str
    institution: str
    floating: bool
    community: str | None = None
    address: str | None = None


class TitleView(View):
    isbn: str
    title: str
    author: str | None = None
    publisher: str | None = None


class CopyView(View):
    barcode: str
    isbn: str
    title: str | None = None
    home_branch: str
    location: str
    status: str
    transit_to: str | None = None
    hold_id: str | None = None


class TitleDetailView(TitleView):
    copies: list[CopyView]
    holds_waiting: int = Field(ge=0, le=INT32)


class PolicyView(View):
    id: int
    branch: str
    reader_group: str
    max_loans: int
    loan_days: int
    max_renewals: int
    renewal_days: int


class ReaderLoanView(View):
    id: str
    barcode: str
    due_at: datetime
    renewals: int


class ReaderView(View):
    id: str
    name: str
    card: str = Field(description="the ID number masked, e.g. 110105********002X")
    group: str
    user: str | None = None
    blocked: bool
    blocked_reason: str | None = None
    overdue: int
    loans: list[ReaderLoanView]


class HoldView(View):
    id: str
    isbn: str
    status: str
    pickup_branch: str
    barcode: str | None = None
    expires_at: datetime | None = None


class MeView(ReaderView):
    holds: list[HoldView]


class QrView(View):
    qr: str = Field(description="show this at the desk instead of the ID card; the previous one stops working")


class CheckoutView(View):
    loan_id: str
    barcode: str
    title: str
    reader_id: str
    card: str
    branch: str
    due_at: datetime


class SlipView(View):
    """The routing slip of a check-in or an arrival scan: where the book goes next."""

    barcode: str
    title: str
    loan_id: str | None = None
    status: str
    destination: str
    reason: str
    hold_id: str | None = None
    slip: str


class RenewalView(View):
    loan_id: str
    renewals: int
    due_at: datetime


class BranchLoansView(View):
    branch: str
    open_loans: int


class OverdueView(View):
    loan_id: str
    barcode: str
    title: str
    reader_id: str
    reader: str
    card: str
    branch: str
    due_at: datetime
    days_overdue: int


class TransitView(View):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    barcode: str
    title: str
    from_: str = Field(alias="from")
    to: str | None = None
    since: datetime | None = None
    age_days: float | None = None


class HoldReportView(View):
    hold_id: str
    isbn: str
    title: str
    reader_id: str
    status: str
    pickup_branch: str
    placed_at: datetime
    expires_at: datetime | None = None
    waiting_days: int


class RejectCounts(View):
    total: int
    reasons: dict[str, int]


class PartnerView(View):
    code: str
    source: str
    ingress: str
    egress: str
    rejected: RejectCounts


class PartnerKeyView(View):
    partner: str
    key_id: str
    secret: str = Field(description="shown only in this answer")


class KeyRevokedView(View):
    partner: str
    key_id: str
    revoked: bool


class AcceptedView(View):
    accepted: bool
    stream: str
    entry_id: str


class AccessEntry(View):
    """One read of a reader's identity: who, when, which reader, and why; never the values."""

    id: int
    at: datetime
    actor: str
    roles: list[str]
    subject_kind: str
    subject_id: str
    fields: list[str]
    purpose: str
    community: str | None
