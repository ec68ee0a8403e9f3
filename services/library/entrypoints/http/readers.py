"""Readers: registration at the desk or in the app, the app's QR token, lookups, links, blocks, the access log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.library.entrypoints.http.deps import Auditors, Desk, RecordId, Resident
from services.library.entrypoints.http.schemas import (
    AccessEntry,
    BlockIn,
    LinkIn,
    MeView,
    QrView,
    ReaderIn,
    ReaderView,
    SelfReaderIn,
    WhoIn,
)
from services.library.service_layer import common, privacy, readers, views
from shared.service import ServiceContext
from shared.web.pages import Page, Paging
from shared.web.runner import Runner

BASE = "/api/library"


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.post("/readers", status_code=201)
    async def post_reader(body: ReaderIn, who: Desk) -> ReaderView:
        """Register a reader at the desk: the ID card is validated, only its hash and mask are kept."""
        purpose = f"POST {BASE}/readers"
        return await run(
            lambda s: views.reader(s, readers.register(ctx, s, **body.model_dump()), ctx.clock.now(), who, purpose)
        )

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
        return await run.rows(views.me, who.sub, ctx.clock.now())

    @api.post("/readers/me/qr")
    async def post_my_qr(who: Resident) -> QrView:
        """A fresh QR token to show at the desk instead of the ID card (no body)."""
        return await run(lambda s: {"qr": readers.issue_qr(s, readers.by_user(s, who.sub))})

    @api.post("/readers/lookup")
    async def lookup_reader(body: WhoIn, who: Desk) -> ReaderView:
        """Find a reader by card or QR (POST keeps the ID number out of URLs and access logs); logged."""
        purpose = f"POST {BASE}/readers/lookup"
        return await run(
            lambda s: views.reader(s, readers.identify(s, **body.model_dump()), ctx.clock.now(), who, purpose)
        )

    @api.get("/readers/{reader_id}")
    async def get_reader(reader_id: RecordId, who: Desk) -> ReaderView:
        """A reader: masked card, open loans, block (the read is logged)."""
        purpose = f"GET {BASE}/readers/{{reader_id}}"
        return await run(lambda s: views.reader_by_id(s, reader_id, ctx.clock.now(), who, purpose))

    @api.post("/readers/{reader_id}/link")
    async def link_reader(reader_id: RecordId, body: LinkIn, who: Desk) -> ReaderView:
        """Link an app account (principal id) to a reader, so notices reach the app."""
        purpose = f"POST {BASE}/readers/{{reader_id}}/link"
        return await run(
            lambda s: views.reader(
                s, readers.link_user(s, common.reader(s, reader_id), body.user), ctx.clock.now(), who, purpose
            )
        )

    @api.post("/readers/{reader_id}/block")
    async def block_reader(reader_id: RecordId, body: BlockIn, who: Desk) -> ReaderView:
        """Block a reader with a reason: no borrowing until unblocked (returns still work)."""
        purpose = f"POST {BASE}/readers/{{reader_id}}/block"
        return await run(
            lambda s: views.reader(
                s, readers.block(ctx, s, common.reader(s, reader_id), body.reason), ctx.clock.now(), who, purpose
            )
        )

    @api.delete("/readers/{reader_id}/block")
    async def unblock_reader(reader_id: RecordId, who: Desk) -> ReaderView:
        """Lift a block."""
        purpose = f"DELETE {BASE}/readers/{{reader_id}}/block"
        return await run(
            lambda s: views.reader(
                s, readers.unblock(ctx, s, common.reader(s, reader_id)), ctx.clock.now(), who, purpose
            )
        )

    @api.get("/access-log")
    async def access_log(
        who: Auditors,
        page: Paging,
        reader_id: Annotated[str | None, Query(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.:\-]+$")] = None,
    ) -> Page[AccessEntry]:
        """Who was shown which reader's identity, when and why, newest first (never the values).

        Staff see the reads at their communities' book houses and their own; operators all.
        """
        return await run.read(lambda s: privacy.access_entries(s, who, page, subject_id=reader_id))

    return api
