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
    async def post_checkout(body: CheckoutIn, _: Staff) -> CheckoutView:
        """Lend a copy at any branch to a reader identified by ID card, QR token or reader id."""

        def lend(s):
            reader = readers.identify(s, card=body.card, qr=body.qr, reader_id=body.reader_id)
            return views.checkout(s, circulation.checkout(ctx, s, reader.id, body.barcode, body.branch))

        return await run(lend)

    @api.post("/checkin")
    async def post_checkin(body: ScanIn, _: Staff) -> SlipView:
        """Return a copy at any branch; the answer is the routing slip (where the book goes next)."""
        return await run(lambda s: views.slip(s, circulation.checkin(ctx, s, body.barcode, body.branch)))

    @api.post("/arrivals")
    async def post_arrival(body: ScanIn, _: Staff) -> SlipView:
        """Scan a copy arriving from transit at its destination."""
        return await run(lambda s: views.slip(s, circulation.arrive(ctx, s, body.barcode, body.branch)))

    @api.post("/loans/{loan_id}/renew")
    async def renew_loan(loan_id: RecordId, who: People) -> RenewalView:
        """Renew a loan, a resident only their own (no body)."""
        staff = who.has("staff", "operator")
        return await run(lambda s: views.renewal(circulation.renew_as(ctx, s, loan_id, who.sub, staff)))

    @api.post("/holds", status_code=201)
    async def post_hold(body: HoldIn, who: People) -> HoldView:
        """Place a hold on a title for pickup at a branch (a resident for themself, staff for anyone)."""
        staff = who.has("staff", "operator")
        return await run(lambda s: views.hold(holds.place_for(ctx, s, user=who.sub, staff=staff, **body.model_dump())))

    @api.delete("/holds/{hold_id}")
    async def delete_hold(hold_id: RecordId, who: People) -> HoldView:
        """Cancel a hold (a resident only their own); a copy set aside for it goes to the next reader or home."""
        staff = who.has("staff", "operator")
        return await run(lambda s: views.hold(holds.cancel_as(ctx, s, hold_id, who.sub, staff)))

    return api
