"""小修小补: artisans, their sittings, queue numbers and slots, a ticket booked, a job done."""

from __future__ import annotations

from fastapi import APIRouter

from services.activities.entrypoints.http.deps import (
    Anyone,
    ArtisanActors,
    CommunityQuery,
    Household,
    RecordId,
    RepairActors,
    Staff,
)
from services.activities.entrypoints.http.schemas import (
    ArtisanIn,
    ArtisanView,
    RepairBookingIn,
    RepairBookingView,
    RepairSessionIn,
    RepairSessionView,
    TicketBookingIn,
)
from services.activities.service_layer import repairs, views
from shared.service import ServiceContext
from shared.web.fields import Moment
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.post("/artisans", status_code=201)
    async def post_artisan(body: ArtisanIn, who: Staff) -> ArtisanView:
        """Register a resident with a trade (缝补, 修鞋, 修表, 修小家电, 理发…)."""
        return await run(lambda s: views.artisan(repairs.add_artisan(ctx, s, who, **body.model_dump())))

    @api.get("/artisans")
    async def get_artisans(
        _: Anyone, page: Paging, community: CommunityQuery = None, trade: CommunityQuery = None
    ) -> Page[ArtisanView]:
        """Artisans of a community, optionally with one trade."""
        return await run.read(views.artisans, community, trade, page)

    @api.post("/artisans/{artisan_id}/sessions", status_code=201)
    async def post_repair_session(artisan_id: RecordId, body: RepairSessionIn, who: ArtisanActors) -> RepairSessionView:
        """Offer a sitting: numbers handed out in turn (`queue`, the square) or booked slots (the workshop)."""
        return await run(
            lambda s: views.repair_session(s, repairs.offer_session(ctx, s, who, artisan_id, **body.model_dump()))
        )

    @api.get("/repair-sessions")
    async def get_repair_sessions(
        _: Anyone,
        page: Paging,
        community: CommunityQuery = None,
        artisan: CommunityQuery = None,
        after: Moment | None = None,
    ) -> Page[RepairSessionView]:
        """Sittings in time order, with numbers or slots left."""
        return await run.read(views.repair_sessions, community, artisan, after, page)

    @api.post("/repair-sessions/{session_id}/bookings", status_code=201)
    async def post_repair_booking(session_id: RecordId, body: RepairBookingIn, who: Household) -> RepairBookingView:
        """Take the next number, or a slot (the first free one if none is named)."""
        return await run(lambda s: views.repair_booking(s, repairs.book(ctx, s, who, session_id, **body.model_dump())))

    @api.post("/repair-bookings/from-ticket", status_code=201)
    async def post_ticket_booking(body: TicketBookingIn, who: Staff) -> RepairBookingView:
        """Turn a 小修小补 ticket into a booking with an artisan; the ticket follows by events."""
        fields = body.model_dump()
        session_id, user = fields.pop("session_id"), fields.pop("user")
        return await run(
            lambda s: views.repair_booking(s, repairs.book(ctx, s, who, session_id, for_user=user, **fields))
        )

    @api.get("/repair-bookings/mine")
    async def get_my_repairs(who: Household, page: Paging) -> Page[RepairBookingView]:
        """Your household's numbers and slots, newest first."""
        return await run.read(views.my_repairs, who, page)

    @api.get("/repair-bookings/{booking_id}")
    async def get_repair_booking(booking_id: RecordId, who: RepairActors) -> RepairBookingView:
        """One booking (its household, its artisan, the community's staff)."""
        return await run.read(lambda s: views.repair_booking(s, repairs.visible(s, who, booking_id)))

    @api.post("/repair-bookings/{booking_id}/done")
    async def post_repair_done(booking_id: RecordId, who: ArtisanActors) -> RepairBookingView:
        """The artisan marks the job done; a linked ticket is resolved (no body)."""
        return await run(lambda s: views.repair_booking(s, repairs.done(ctx, s, who, booking_id)))

    @api.post("/repair-bookings/{booking_id}/cancel")
    async def post_repair_cancel(booking_id: RecordId, who: RepairActors) -> RepairBookingView:
        """Give the number or slot back (no body)."""
        return await run(lambda s: views.repair_booking(s, repairs.cancel(ctx, s, who, booking_id)))

    return api
