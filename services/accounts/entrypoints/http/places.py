"""Communities and households: the places of the register."""

from __future__ import annotations

from fastapi import APIRouter

from services.accounts.entrypoints.http.deps import CommunityQuery, HouseholdReader, PlaceQuery, RecordId, Staff
from services.accounts.entrypoints.http.schemas import CommunityIn, CommunityView, HouseholdIn, HouseholdView
from services.accounts.service_layer import register, views
from shared.service import ServiceContext
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.post("/communities", status_code=201)
    async def post_community(body: CommunityIn, who: Staff) -> CommunityView:
        """Add a community (or rename it): operators and city-wide staff."""
        return await run(
            lambda s: views.community(register.add_community(ctx, s, who, body.code, body.name, body.district))
        )

    @api.get("/communities")
    async def list_communities(page: Paging, who: Staff) -> Page[CommunityView]:
        """The communities the caller serves."""
        return await run.read(views.communities, who, page)

    @api.post("/households", status_code=201)
    async def post_household(body: HouseholdIn, who: Staff) -> HouseholdView:
        """A household by its address; missing estates, buildings and units are created (idempotent)."""
        address = register.Address(body.community, body.estate, body.building, body.unit, body.room)
        return await run(lambda s: views.household(s, register.place(ctx, s, who, address).id))

    @api.get("/households")
    async def list_households(
        community: CommunityQuery,
        page: Paging,
        who: Staff,
        estate: PlaceQuery = None,
        building: PlaceQuery = None,
        unit: PlaceQuery = None,
    ) -> Page[HouseholdView]:
        """The households of a community, narrowed to an estate, building and unit by name."""
        return await run.read(views.households, who, page, community, estate, building, unit)

    @api.get("/households/{household_id}")
    async def get_household(household_id: RecordId, who: HouseholdReader) -> HouseholdView:
        """One household's address (a resident sees their own)."""
        return await run.read(views.household_for, who, household_id)

    return api
