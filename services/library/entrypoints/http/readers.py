"""Readers: registration at the desk or in the app, the app's QR token, lookups, links and blocks."""

from __future__ import annotations

from fastapi import APIRouter

from services.library.entrypoints.http.deps import RecordId, Resident, Staff
from services.library.entrypoints.http.schemas import (
    BlockIn,
    LinkIn,
    MeView,
    QrView,
    ReaderIn,
    ReaderView,
    SelfReaderIn,
    WhoIn,
)
from services.library.service_layer import common, readers, views
from shared.service import ServiceContext
from shared.web.runner import Runner


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.post("/readers", status_code=201)
    async def post_reader(body: ReaderIn, _: Staff) -> ReaderView:
        """Register a reader at the desk: the ID card is validated, only its hash and mask are kept."""
        return await run(lambda s: views.reader(s, readers.register(ctx, s, **body.model_dump()), ctx.clock.now()))

    @api.post("/readers/me", status_code=201)
    async def post_me(body: SelfReaderIn, who: Resident) -> ReaderView:
        """A resident registers their own reader card in the app (linked to their account)."""
        return await run(
            lambda s: views.reader(
                s, readers.register(ctx, s, id_number=body.id_number, name=body.name, user=who.sub), ctx.clock.now()
            )
        )

    @api.get("/readers/me")
    async def get_me(who: Resident) -> MeView:
        """My card (masked), my loans with due dates, my holds."""
        return await run.read(views.me, who.sub, ctx.clock.now())

    @api.post("/readers/me/qr")
    async def post_my_qr(who: Resident) -> QrView:
        """A fresh QR token to show at the desk instead of the ID card (no body)."""
        return await run(lambda s: {"qr": readers.issue_qr(s, readers.by_user(s, who.sub))})

    @api.post("/readers/lookup")
    async def lookup_reader(body: WhoIn, _: Staff) -> ReaderView:
        """Find a reader by card or QR (POST keeps the ID number out of URLs and access logs)."""
        return await run.read(lambda s: views.reader(s, readers.identify(s, **body.model_dump()), ctx.clock.now()))

    @api.get("/readers/{reader_id}")
    async def get_reader(reader_id: RecordId, _: Staff) -> ReaderView:
        """A reader: masked card, open loans, block."""
        return await run.read(views.reader_by_id, reader_id, ctx.clock.now())

    @api.post("/readers/{reader_id}/link")
    async def link_reader(reader_id: RecordId, body: LinkIn, _: Staff) -> ReaderView:
        """Link an app account (principal id) to a reader, so notices reach the app."""
        return await run(
            lambda s: views.reader(s, readers.link_user(s, common.reader(s, reader_id), body.user), ctx.clock.now())
        )

    @api.post("/readers/{reader_id}/block")
    async def block_reader(reader_id: RecordId, body: BlockIn, _: Staff) -> ReaderView:
        """Block a reader with a reason: no borrowing until unblocked (returns still work)."""
        return await run(
            lambda s: views.reader(s, readers.block(ctx, s, common.reader(s, reader_id), body.reason), ctx.clock.now())
        )

    @api.delete("/readers/{reader_id}/block")
    async def unblock_reader(reader_id: RecordId, _: Staff) -> ReaderView:
        """Lift a block."""
        return await run(
            lambda s: views.reader(s, readers.unblock(ctx, s, common.reader(s, reader_id)), ctx.clock.now())
        )

    return api
