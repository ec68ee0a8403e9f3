"""Rooms: create and describe them, their weekly hours and closures."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.activities.entrypoints.http.deps import Anyone, CommunityQuery, RecordId, Staff
from services.activities.entrypoints.http.schemas import ClosureIn, HoursIn, VenueChangeIn, VenueIn, VenueView
from services.activities.service_layer import venues, views
from shared.service import ServiceContext
from shared.web import etags
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
    async def get_venue(venue_id: RecordId, _: Anyone, response: Response) -> VenueView:
        """One room, with the ``ETag`` a conditional change sends (its description, hours and closures)."""

        def read(s):
            row = venues.venue(s, venue_id)
            return views.venue(s, row), etags.tag(venues.state(s, row))

        return etags.answer(response, await run.read(read))

    def guarded(s, who, venue_id: str, if_match: str | None) -> None:
        """412 unless ``If-Match`` names the room's state (404 first for a room of another community)."""
        etags.guard(
            s, f"activities:venue:{venue_id}", if_match, lambda: venues.state(s, venues.managed(s, who, venue_id))
        )

    @api.patch("/venues/{venue_id}", responses=etags.RESPONSES)
    async def patch_venue(
        venue_id: RecordId, body: VenueChangeIn, who: Staff, response: Response, if_match: etags.IfMatch = None
    ) -> VenueView:
        """Change a room's description, capacity or rules (fields left out stay); with ``If-Match``, only if
        nobody changed the room since (else 412)."""
        changes = body.model_dump(exclude_unset=True)

        def write(s):
            guarded(s, who, venue_id, if_match)
            row = venues.update(s, who, venue_id, **changes)
            return views.venue(s, row), etags.stored_tag(s, venues.state(s, row))

        return etags.answer(response, await run(write))

    @api.put("/venues/{venue_id}/hours", responses=etags.RESPONSES)
    async def put_hours(
        venue_id: RecordId, body: HoursIn, who: Staff, response: Response, if_match: etags.IfMatch = None
    ) -> VenueView:
        """Replace the room's weekly opening rules (Asia/Shanghai times; no rules: always open); with
        ``If-Match`` (the room's ETag), only if nobody changed the room since (else 412)."""
        rules = [r.model_dump() for r in body.rules]

        def write(s):
            guarded(s, who, venue_id, if_match)
            row = venues.set_hours(s, who, venue_id, rules)
            return views.venue(s, row), etags.stored_tag(s, venues.state(s, row))

        return etags.answer(response, await run(write))

    @api.post("/venues/{venue_id}/closures", status_code=201)
    async def post_closure(venue_id: RecordId, body: ClosureIn, who: Staff) -> VenueView:
        """Close the room on a day (a holiday, repairs)."""
        return await run(lambda s: views.venue(s, venues.add_closure(s, who, venue_id, body.day, body.reason)))

    return api
