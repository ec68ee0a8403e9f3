"""HTTP routes of the library service, mounted at /api/library."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, BeforeValidator, Field
from starlette.concurrency import run_in_threadpool

from services.library.adapters.orm import Branch, Copy, Hold, Title
from services.library.config import library_settings
from services.library.domain.errors import LibraryError, NotFound
from services.library.domain.isbn import normalize_isbn
from services.library.service_layer import catalog, circulation, common, holds, partners, policy, readers, reports
from shared.service import ServiceContext
from shared.web.auth import Principal, allow, public


def _card_text(value: Any) -> Any:
    """Take any JSON value as card text, so a malformed ID number is never echoed in a 422 body."""
    return None if value is None else str(value)[:64]


CardText = Annotated[str, BeforeValidator(_card_text)]
STAFF = allow("staff", "operator")
OPERATOR = allow("operator")
RESIDENT = allow("resident")
PEOPLE = allow("resident", "staff", "operator")


class BranchIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["智汇城漂流书屋"])
    institution: str = Field(min_length=1, max_length=32, examples=["LINLI"])
    floating: bool = False
    community: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=200)


class TitleIn(BaseModel):
    isbn: str = Field(min_length=10, max_length=20, examples=["9787020002207"])
    title: str = Field(min_length=1, max_length=300, examples=["红楼梦"])
    author: str | None = Field(default=None, max_length=200)
    publisher: str | None = Field(default=None, max_length=200)


class CopyIn(BaseModel):
    barcode: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")
    isbn: str = Field(min_length=10, max_length=20)
    home_branch: str = Field(min_length=1, max_length=32)


class StatusIn(BaseModel):
    status: str = Field(examples=["missing"])


class PolicyIn(BaseModel):
    branch: str = Field(default="*", max_length=32)
    reader_group: str = Field(default="*", max_length=32)
    max_loans: int = Field(ge=0, le=100)
    loan_days: int = Field(ge=1, le=365)
    max_renewals: int = Field(ge=0, le=10)
    renewal_days: int = Field(ge=1, le=365)


class ReaderIn(BaseModel):
    id_number: CardText = Field(examples=["11010519491231002X"])
    name: str = Field(min_length=1, max_length=64)
    group: str = Field(default="adult", max_length=32)
    user: str | None = Field(default=None, max_length=128)


class SelfReaderIn(BaseModel):
    id_number: CardText
    name: str = Field(min_length=1, max_length=64)


class WhoIn(BaseModel):
    """Identify a reader by exactly one of: ID card number, app QR token, reader id."""

    card: CardText | None = None
    qr: str | None = Field(default=None, max_length=64)
    reader_id: str | None = Field(default=None, max_length=32)


class CheckoutIn(WhoIn):
    barcode: str = Field(min_length=1, max_length=32)
    branch: str = Field(min_length=1, max_length=32)


class ScanIn(BaseModel):
    barcode: str = Field(min_length=1, max_length=32)
    branch: str = Field(min_length=1, max_length=32)


class HoldIn(WhoIn):
    isbn: str = Field(min_length=10, max_length=20)
    pickup_branch: str = Field(min_length=1, max_length=32)


class LinkIn(BaseModel):
    user: str = Field(min_length=1, max_length=128)


class BlockIn(BaseModel):
    reason: str = Field(min_length=1, max_length=300)


class NoEchoRoute(APIRoute):
    """Validation errors without the ``input`` FastAPI would echo (request bodies may hold ID numbers)."""

    def get_route_handler(self):
        original = super().get_route_handler()

        async def handler(request: Request):
            try:
                return await original(request)
            except RequestValidationError as exc:
                errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
                raise HTTPException(422, errors) from None

        return handler


def _fail(exc: LibraryError) -> HTTPException:
    return HTTPException(exc.status, exc.message)


def build_router(ctx: ServiceContext) -> APIRouter:
    """The library's routes; every one declares who may call it."""
    router = APIRouter(route_class=NoEchoRoute)

    def tx(fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(session)`` in one transaction; domain errors become 4xx with a bilingual message."""
        try:
            with ctx.store.transaction() as session:
                return fn(session)
        except LibraryError as exc:
            raise _fail(exc) from None

    def own_reader(session, principal: Principal):
        return readers.by_user(session, principal.sub)

    # -- catalogue ------------------------------------------------------------------------------
    @router.get("/branches")
    def list_branches(_: Annotated[Principal, Depends(PEOPLE)]) -> list[dict]:
        """Book houses and partner library desks."""
        from sqlmodel import select

        return tx(lambda s: [b.model_dump() for b in s.exec(select(Branch).order_by(Branch.code)).all()])

    @router.put("/branches/{code}")
    def put_branch(code: str, body: BranchIn, _: Annotated[Principal, Depends(OPERATOR)]) -> dict:
        return tx(lambda s: catalog.upsert_branch(s, code=code, **body.model_dump()).model_dump())

    @router.put("/titles")
    def put_title(body: TitleIn, _: Annotated[Principal, Depends(STAFF)]) -> dict:
        """Add a title; ISBN-10 is converted to ISBN-13, wrong check digits answer 422."""
        return tx(lambda s: catalog.upsert_title(s, **body.model_dump()).model_dump())

    @router.get("/titles/{isbn}")
    def get_title(isbn: str, _: Annotated[Principal, Depends(PEOPLE)]) -> dict:
        """A title with its copies (where they are, whether they can be borrowed)."""
        from sqlmodel import select

        def view(s):
            t = common.title(s, normalize_isbn(isbn))
            copies = s.exec(select(Copy).where(Copy.isbn == t.isbn).order_by(Copy.barcode)).all()
            queue = s.exec(select(Hold).where(Hold.isbn == t.isbn, Hold.status == "waiting")).all()
            return {**t.model_dump(), "copies": [catalog.copy_view(s, c) for c in copies], "holds_waiting": len(queue)}

        return tx(view)

    @router.post("/copies", status_code=201)
    def post_copy(body: CopyIn, _: Annotated[Principal, Depends(STAFF)]) -> dict:
        return tx(lambda s: catalog.copy_view(s, catalog.add_copy(ctx, s, **body.model_dump())))

    @router.get("/copies/{barcode}")
    def get_copy(barcode: str, _: Annotated[Principal, Depends(STAFF)]) -> dict:
        def view(s):
            c = s.get(Copy, barcode)
            if c is None:
                raise NotFound(f"没有这个条码 / no copy with barcode {barcode}")
            return catalog.copy_view(s, c)

        return tx(view)

    @router.post("/copies/{barcode}/status")
    def post_copy_status(barcode: str, body: StatusIn, _: Annotated[Principal, Depends(STAFF)]) -> dict:
        """Mark a copy missing, lost, claimed returned, withdrawn, or found; illegal changes answer 409."""
        return tx(lambda s: catalog.copy_view(s, catalog.set_status(ctx, s, barcode, body.status)))

    @router.put("/policies")
    def put_policy(body: PolicyIn, _: Annotated[Principal, Depends(OPERATOR)]) -> dict:
        """Loan rules for a branch and reader group (``*`` for any)."""
        return tx(lambda s: policy.upsert(s, **body.model_dump()).model_dump())

    # -- readers --------------------------------------------------------------------------------
    @router.post("/readers", status_code=201)
    def post_reader(body: ReaderIn, _: Annotated[Principal, Depends(STAFF)]) -> dict:
        """Register a reader at the desk: the ID card is validated, only its hash and mask are kept."""
        return tx(lambda s: readers.view(s, readers.register(ctx, s, **body.model_dump()), ctx.clock.now()))

    @router.post("/readers/me", status_code=201)
    def post_me(body: SelfReaderIn, who: Annotated[Principal, Depends(RESIDENT)]) -> dict:
        """A resident registers their own reader card in the app (linked to their account)."""
        return tx(
            lambda s: readers.view(
                s, readers.register(ctx, s, id_number=body.id_number, name=body.name, user=who.sub), ctx.clock.now()
            )
        )

    @router.get("/readers/me")
    def get_me(who: Annotated[Principal, Depends(RESIDENT)]) -> dict:
        """My card (masked), my loans with due dates, my holds."""
        from sqlmodel import select

        def view(s):
            r = own_reader(s, who)
            out = readers.view(s, r, ctx.clock.now())
            out["holds"] = [
                {
                    "id": h.id,
                    "isbn": h.isbn,
                    "status": h.status,
                    "pickup_branch": h.pickup_branch,
                    "expires_local": common.show_time(h.expires_at),
                }
                for h in s.exec(
                    select(Hold).where(Hold.reader_id == r.id, Hold.status.in_(circulation.ACTIVE_HOLD))
                ).all()
            ]
            return out

        return tx(view)

    @router.post("/readers/me/qr")
    def post_my_qr(who: Annotated[Principal, Depends(RESIDENT)]) -> dict:
        """A fresh QR token to show at the desk instead of the ID card."""
        return tx(lambda s: {"qr": readers.issue_qr(s, own_reader(s, who))})

    @router.post("/readers/lookup")
    def lookup_reader(body: WhoIn, _: Annotated[Principal, Depends(STAFF)]) -> dict:
        """Find a reader by card or QR (POST keeps the ID number out of URLs and access logs)."""
        return tx(lambda s: readers.view(s, readers.identify(s, **body.model_dump()), ctx.clock.now()))

    @router.get("/readers/{reader_id}")
    def get_reader(reader_id: str, _: Annotated[Principal, Depends(STAFF)]) -> dict:
        return tx(lambda s: readers.view(s, common.reader(s, reader_id), ctx.clock.now()))

    @router.post("/readers/{reader_id}/link")
    def link_reader(reader_id: str, body: LinkIn, _: Annotated[Principal, Depends(STAFF)]) -> dict:
        """Link an app account (principal id) to a reader, so notices reach the app."""
        return tx(
            lambda s: readers.view(s, readers.link_user(s, common.reader(s, reader_id), body.user), ctx.clock.now())
        )

    @router.post("/readers/{reader_id}/block")
    def block_reader(reader_id: str, body: BlockIn, _: Annotated[Principal, Depends(STAFF)]) -> dict:
        return tx(
            lambda s: readers.view(s, readers.block(ctx, s, common.reader(s, reader_id), body.reason), ctx.clock.now())
        )

    @router.delete("/readers/{reader_id}/block")
    def unblock_reader(reader_id: str, _: Annotated[Principal, Depends(STAFF)]) -> dict:
        return tx(lambda s: readers.view(s, readers.unblock(ctx, s, common.reader(s, reader_id)), ctx.clock.now()))

    # -- circulation ----------------------------------------------------------------------------
    @router.post("/checkout", status_code=201)
    def post_checkout(body: CheckoutIn, _: Annotated[Principal, Depends(STAFF)]) -> dict:
        """Lend a copy at any branch to a reader identified by ID card, QR token or reader id."""

        def do(s):
            r = readers.identify(s, card=body.card, qr=body.qr, reader_id=body.reader_id)
            loan = circulation.checkout(ctx, s, r.id, body.barcode, body.branch)
            t = s.get(Title, s.get(Copy, loan.barcode).isbn)
            return {
                "loan_id": loan.id,
                "barcode": loan.barcode,
                "title": t.title,
                "reader_id": r.id,
                "card": r.id_masked,
                "branch": loan.branch,
                "due_at": common.utc(loan.due_at).isoformat(),
                "due_local": common.show_time(loan.due_at),
            }

        return tx(do)

    @router.post("/checkin")
    def post_checkin(body: ScanIn, _: Annotated[Principal, Depends(STAFF)]) -> dict:
        """Return a copy at any branch; the answer is the routing slip (where the book goes next)."""
        return tx(lambda s: circulation.checkin(ctx, s, body.barcode, body.branch))

    @router.post("/arrivals")
    def post_arrival(body: ScanIn, _: Annotated[Principal, Depends(STAFF)]) -> dict:
        """Scan a copy arriving from transit at its destination."""
        return tx(lambda s: circulation.arrive(ctx, s, body.barcode, body.branch))

    @router.post("/loans/{loan_id}/renew")
    def renew_loan(loan_id: str, who: Annotated[Principal, Depends(PEOPLE)]) -> dict:
        """Renew a loan (a resident only their own)."""

        def do(s):
            loan = common.loan(s, loan_id)
            if not who.has("staff", "operator") and readers.by_user(s, who.sub).id != loan.reader_id:
                raise NotFound(f"没有这笔借阅 / no loan {loan_id}")
            loan = circulation.renew(ctx, s, loan)
            return {
                "loan_id": loan.id,
                "renewals": loan.renewals,
                "due_at": common.utc(loan.due_at).isoformat(),
                "due_local": common.show_time(loan.due_at),
            }

        return tx(do)

    @router.post("/holds", status_code=201)
    def post_hold(body: HoldIn, who: Annotated[Principal, Depends(PEOPLE)]) -> dict:
        """Place a hold on a title for pickup at a branch (a resident for themself, staff for anyone)."""

        def do(s):
            if who.has("staff", "operator"):
                r = readers.identify(s, card=body.card, qr=body.qr, reader_id=body.reader_id)
            else:
                r = own_reader(s, who)
            h = holds.place(ctx, s, r, normalize_isbn(body.isbn), body.pickup_branch)
            return {
                "id": h.id,
                "isbn": h.isbn,
                "status": h.status,
                "pickup_branch": h.pickup_branch,
                "barcode": h.barcode,
                "expires_local": common.show_time(h.expires_at),
            }

        return tx(do)

    @router.delete("/holds/{hold_id}")
    def delete_hold(hold_id: str, who: Annotated[Principal, Depends(PEOPLE)]) -> dict:
        def do(s):
            h = common.hold(s, hold_id)
            if not who.has("staff", "operator") and own_reader(s, who).id != h.reader_id:
                raise NotFound(f"没有这个预约 / no hold {hold_id}")
            h = holds.cancel(ctx, s, h)
            return {"id": h.id, "status": h.status}

        return tx(do)

    # -- reports --------------------------------------------------------------------------------
    @router.get("/reports/loans-by-branch")
    def report_loans(_: Annotated[Principal, Depends(STAFF)]) -> list[dict]:
        return tx(reports.loans_by_branch)

    @router.get("/reports/overdue")
    def report_overdue(_: Annotated[Principal, Depends(STAFF)]) -> list[dict]:
        return tx(lambda s: reports.overdue(s, ctx.clock.now()))

    @router.get("/reports/in-transit")
    def report_transit(_: Annotated[Principal, Depends(STAFF)]) -> list[dict]:
        return tx(lambda s: reports.in_transit(s, ctx.clock.now()))

    @router.get("/reports/holds")
    def report_holds(_: Annotated[Principal, Depends(STAFF)]) -> list[dict]:
        return tx(lambda s: reports.holds_waiting(s, ctx.clock.now()))

    # -- partners -------------------------------------------------------------------------------
    @router.get("/partners")
    async def list_partners(_: Annotated[Principal, Depends(STAFF)]) -> list[dict]:
        """Configured partner libraries, their streams, and how many of their events were rejected."""
        counts = await partners.reject_counts(ctx)
        return [
            {
                "code": code,
                "source": partners.source_of(code),
                "ingress": ctx.names.partner_ingress(code),
                "egress": ctx.names.partner_egress(code),
                "rejected": counts[code],
            }
            for code in library_settings().partners
        ]

    @router.post("/partners/{code}/keys", status_code=201)
    def post_partner_key(code: str, _: Annotated[Principal, Depends(OPERATOR)]) -> dict:
        """Issue an HTTPS signing key for a partner; the secret is shown only in this answer."""

        def do(s):
            key_id, secret = partners.issue_key(ctx, s, code)
            return {"partner": code, "key_id": key_id, "secret": secret}

        return tx(do)

    @router.delete("/partners/{code}/keys/{key_id}")
    def delete_partner_key(code: str, key_id: str, _: Annotated[Principal, Depends(OPERATOR)]) -> dict:
        tx(lambda s: partners.revoke_key(ctx, s, code, key_id))
        return {"partner": code, "key_id": key_id, "revoked": True}

    @router.post("/partners/{code}/events", status_code=202, dependencies=[Depends(public())])
    async def partner_event(
        code: str,
        request: Request,
        x_linli_timestamp: Annotated[str | None, Header()] = None,
        x_linli_signature: Annotated[str | None, Header()] = None,
        x_linli_key: Annotated[str | None, Header()] = None,
    ) -> dict:
        """A partner without Redis posts a CloudEvent signed with HMAC-SHA256 over ``<timestamp>.<body>``.

        A valid signature puts the body on the partner's ingress stream, where it is validated and
        deduplicated like any Redis entry (invalid events end in the dead-letter stream).
        """
        body = await request.body()
        if len(body) > ctx.settings.max_event_bytes:
            raise HTTPException(413, "事件过大 / event too large")
        await run_in_threadpool(
            tx,
            lambda s: partners.check_signature(ctx, s, code, x_linli_key, x_linli_timestamp, body, x_linli_signature),
        )
        entry_id = await partners.xadd_ingress(ctx, code, body)
        return {"accepted": True, "stream": ctx.names.partner_ingress(code), "entry_id": entry_id}

    return router
