"""Sign-ups: take a place or join the waitlist, answer an offer, cancel; check-in at the door."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.activities.adapters import qr
from services.activities.entrypoints.http.deps import Household, RecordId, Runners, SignupActors
from services.activities.entrypoints.http.schemas import AttendanceIn, CheckinIn, SignupIn, SignupView
from services.activities.service_layer import signups, views
from shared.service import ServiceContext
from shared.web.pages import Page, Paging
from shared.web.runner import Runner

QR_IMAGE = {
    "description": "the check-in code as a QR image",
    "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in qr.MEDIA.values()},
}


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    def view(s, row):
        return views.signup(ctx, s, row)

    @api.post("/activities/{activity_id}/signups", status_code=201)
    async def post_signup(activity_id: RecordId, body: SignupIn, who: Household) -> SignupView:
        """Sign up yourself (`self`) or a child of your household; a full session puts you on the waitlist."""
        participant, age, guardian = body.participant, body.age, body.guardian
        return await run(
            lambda s: views.placed(
                ctx, signups.sign_up(ctx, s, who, activity_id, participant=participant, age=age, guardian=guardian)
            )
        )

    @api.get("/signups/mine")
    async def get_mine(who: Household, page: Paging) -> Page[SignupView]:
        """Your household's sign-ups, newest first, each with its check-in code when it holds a place."""
        return await run.read(views.mine, ctx, who, page)

    @api.get("/signups/{signup_id}")
    async def get_signup(signup_id: RecordId, who: SignupActors) -> SignupView:
        """One sign-up."""
        return await run.read(lambda s: view(s, signups.own(s, who, signup_id)))

    @api.get("/signups/{signup_id}/qr", response_class=Response, responses={200: QR_IMAGE})
    async def get_qr(
        signup_id: RecordId,
        who: Household,
        format: Annotated[qr.Kind, Query(description="png (default) or svg")] = "png",
        scale: Annotated[int, Query(ge=2, le=20, description="pixels per QR module")] = 8,
    ) -> Response:
        """The sign-up's check-in code as a QR image to show at the door (PNG or SVG); 409 ``no_checkin_code``
        unless it holds a confirmed place."""
        code = await run.read(lambda s: signups.checkin_code(ctx, s, who, signup_id))
        body, media = await asyncio.to_thread(qr.render, code, format, scale)  # ~10 ms of drawing: off the loop
        return Response(body, media_type=media, headers={"Cache-Control": "private, max-age=300"})

    @api.post("/signups/{signup_id}/cancel")
    async def cancel_signup(signup_id: RecordId, who: SignupActors) -> SignupView:
        """Give up the place or leave the waitlist; the place is offered to the next in line (no body)."""
        return await run(lambda s: view(s, signups.cancel(ctx, s, who, signup_id)))

    @api.post("/signups/{signup_id}/accept")
    async def accept_offer(signup_id: RecordId, who: Household) -> SignupView:
        """Take the place offered before its deadline (no body)."""
        return await run(lambda s: view(s, signups.accept(ctx, s, who, signup_id)))

    @api.post("/signups/{signup_id}/decline")
    async def decline_offer(signup_id: RecordId, who: Household) -> SignupView:
        """Turn the offered place down; it goes to the next in line (no body)."""
        return await run(lambda s: view(s, signups.decline(ctx, s, who, signup_id)))

    @api.post("/checkin")
    async def post_checkin(body: CheckinIn, who: Runners) -> SignupView:
        """The door: scan the code of a sign-up's QR (once per sign-up)."""
        return await run(lambda s: view(s, signups.check_in(ctx, s, who, body.code)))

    @api.post("/signups/{signup_id}/attendance")
    async def post_attendance(signup_id: RecordId, body: AttendanceIn, who: Runners) -> SignupView:
        """Tick the roster by hand: came or did not."""
        return await run(lambda s: view(s, signups.mark(ctx, s, who, signup_id, body.attended)))

    return api
