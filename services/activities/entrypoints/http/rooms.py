"""Room bookings for residents' groups: request, staff's decision, cancellation."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from services.activities.entrypoints.http.deps import CommunityQuery, RecordId, RoomActors, Staff
from services.activities.entrypoints.http.schemas import DecisionIn, RoomBookingIn, RoomBookingView
from services.activities.service_layer import rooms, views
from shared.service import ServiceContext
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.post("/venues/{venue_id}/bookings", status_code=201)
    async def post_room_booking(venue_id: RecordId, body: RoomBookingIn, who: RoomActors) -> RoomBookingView:
        """Book a room for a group; rooms that need approval wait for staff (status `pending`)."""
        return await run(lambda s: views.room_booking(s, rooms.request(ctx, s, who, venue_id, **body.model_dump())))

    @api.get("/room-bookings")
    async def get_room_bookings(
        who: RoomActors,
        page: Paging,
        venue: CommunityQuery = None,
        status: Literal["pending", "approved", "rejected", "cancelled"] | None = None,
    ) -> Page[RoomBookingView]:
        """Staff: their communities' bookings; residents: their own. In time order."""
        return await run.read(views.room_bookings, who, venue, status, page)

    @api.post("/room-bookings/{booking_id}/decision")
    async def post_decision(booking_id: RecordId, body: DecisionIn, who: Staff) -> RoomBookingView:
        """Approve or refuse a pending booking."""
        return await run(lambda s: views.room_booking(s, rooms.decide(ctx, s, who, booking_id, body.approve)))

    @api.post("/room-bookings/{booking_id}/cancel")
    async def post_room_cancel(booking_id: RecordId, who: RoomActors) -> RoomBookingView:
        """Give the room back: the group's booker or staff (no body)."""
        return await run(lambda s: views.room_booking(s, rooms.cancel(ctx, s, who, booking_id)))

    return api
