"""Rooms: create and describe them, their weekly hours and closures."""

from __future__ import annotations

from fastapi import APIRouter

from services.activities.entrypoints.http.deps import Anyone, CommunityQuery, RecordId, Staff
from services.activities.entrypoints.http.schemas import ClosureIn, HoursIn, VenueChangeIn, VenueIn, VenueView
from services.activities.service_layer import venues, views
from shared.service import ServiceContext
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.post("/venues", status_code=201)
    async def post_venue(body: VenueIn, who: Staff) -> VenueView:
        """Add a room to a community the caller serves."""
        return await run(lambda s: views.venue(s, venues.create(ctx, s, who, **body.model_dump())))

    @api.get("/venues")
    async def get_venues(_: Anyone, page: Paging, community: CommunityQuery = None) -> Page[VenueView]:
        """Rooms, of one community or every one, with their hours and closures."""
        return await run.read(views.venues, community, page)

    @api.get("/venues/{venue_id}")
    async def get_venue(venue_id: RecordId, _: Anyone) -> VenueView:
        """One room."""
        return await run.read(lambda s: views.venue(s, venues.venue(s, venue_id)))

    @api.patch("/venues/{venue_id}")
    async def patch_venue(venue_id: RecordId, body: VenueChangeIn, who: Staff) -> VenueView:
        """Change a room's description, capacity or rules (fields left out stay)."""
        changes = body.model_dump(exclude_unset=True)
        return await run(lambda s: views.venue(s, venues.update(s, who, venue_id, **changes)))

    @api.put("/venues/{venue_id}/hours")
    async def put_hours(venue_id: RecordId, body: HoursIn, who: Staff) -> VenueView:
        """Replace the room's weekly opening rules (Asia/Shanghai times; no rules: always open)."""
        rules = [r.model_dump() for r in body.rules]
        return await run(lambda s: views.venue(s, venues.set_hours(s, who, venue_id, rules)))

    @api.post("/venues/{venue_id}/closures", status_code=201)
    async def post_closure(venue_id: RecordId, body: ClosureIn, who: Staff) -> VenueView:
        """Close the room on a day (a holiday, repairs)."""
        return await run(lambda s: views.venue(s, venues.add_closure(s, who, venue_id, body.day, body.reason)))

    return api
