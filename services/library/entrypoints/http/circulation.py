"""Circulation: check-out, check-in with routing slip, arrival scans, renewals and holds."""

from __future__ import annotations

from fastapi import APIRouter

from services.library.entrypoints.http.deps import People, RecordId, Staff
from services.library.entrypoints.http.schemas import (
    CheckoutIn,
    CheckoutView,
    HoldIn,
    HoldView,
    RenewalView,
    ScanIn,
    SlipView,
)
from services.library.service_layer import circulation, holds, readers, views
from shared.service import ServiceContext
from shared.web.runner import Runner


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.post("/checkout", status_code=201)
    async def post_checkout(body: CheckoutIn, who: Staff) -> CheckoutView:
        """Lend a copy at a book house the caller serves to a reader identified by ID card, QR token or reader id."""

        def lend(s):
            reader_id = readers.reader_id_of(s, card=body.card, qr=body.qr, reader_id=body.reader_id)
            loan = circulation.checkout(ctx, s, reader_id, body.barcode, body.branch, who)
            return views.checkout(s, loan, who, "POST /api/library/checkout")

        return await run(lend)

    @api.post("/checkin")
    async def post_checkin(body: ScanIn, who: Staff) -> SlipView:
        """Return a copy at a book house the caller serves; the answer is the routing slip (where it goes next)."""
        return await run(lambda s: views.slip(s, circulation.checkin(ctx, s, body.barcode, body.branch, who=who)))

    @api.post("/arrivals")
    async def post_arrival(body: ScanIn, who: Staff) -> SlipView:
        """Scan a copy arriving from transit at its destination (a book house the caller serves)."""
        return await run(lambda s: views.slip(s, circulation.arrive(ctx, s, body.barcode, body.branch, who)))

    @api.post("/loans/{loan_id}/renew")
    async def renew_loan(loan_id: RecordId, who: People) -> RenewalView:
        """Renew a loan: a resident only their own, staff those lent at their book houses (no body)."""
        return await run(lambda s: views.renewal(circulation.renew_as(ctx, s, who, loan_id)))

    @api.post("/holds", status_code=201)
    async def post_hold(body: HoldIn, who: People) -> HoldView:
        """Place a hold on a title for pickup at a branch (a resident for themself, staff at their book houses)."""
        return await run(lambda s: views.hold(holds.place_for(ctx, s, who, **body.model_dump())))

    @api.delete("/holds/{hold_id}")
    async def delete_hold(hold_id: RecordId, who: People) -> HoldView:
        """Cancel a hold (a resident only their own); a copy set aside for it goes to the next reader or home."""
        return await run(lambda s: views.hold(holds.cancel_as(ctx, s, who, hold_id)))

    return api
