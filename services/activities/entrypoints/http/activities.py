"""The programme: publish sessions, list them, call one off, its roster."""

from __future__ import annotations

from fastapi import APIRouter

from services.activities.entrypoints.http.deps import Anyone, CommunityQuery, RecordId, Runners, Staff
from services.activities.entrypoints.http.schemas import (
    ActivityIn,
    ActivityView,
    CancelIn,
    PublishedView,
    RosterView,
)
from services.activities.service_layer import programme, views
from shared.service import ServiceContext
from shared.web.fields import Moment
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.post("/activities", status_code=201)
    async def post_activity(body: ActivityIn, who: Staff) -> PublishedView:
        """Publish an activity: one session, or one per date of its RRULE (at most a year ahead)."""

        def publish(s):
            rows = programme.publish(ctx, s, who, **body.model_dump())
            return {"series_id": rows[0].series_id, "sessions": [views.activity(s, r) for r in rows]}

        return await run(publish)

    @api.get("/activities")
    async def get_activities(
        _: Anyone,
        page: Paging,
        community: CommunityQuery = None,
        venue: CommunityQuery = None,
        after: Moment | None = None,
    ) -> Page[ActivityView]:
        """Sessions in time order (filter by community, room, start)."""
        return await run.read(views.programme, community, venue, after, page)

    @api.get("/activities/{activity_id}")
    async def get_activity(activity_id: RecordId, _: Anyone) -> ActivityView:
        """One session with its places taken and left."""
        return await run.read(lambda s: views.activity(s, programme.activity(s, activity_id)))

    @api.post("/activities/{activity_id}/cancel")
    async def cancel_activity(activity_id: RecordId, body: CancelIn, who: Runners) -> ActivityView:
        """The organiser or staff call the session off; everyone signed up is told."""
        return await run(lambda s: views.activity(s, programme.cancel(ctx, s, who, activity_id, body.reason)))

    @api.get("/activities/{activity_id}/signups")
    async def get_roster(activity_id: RecordId, who: Runners, page: Paging) -> Page[RosterView]:
        """The session's roster in queue order (for its organiser and staff)."""
        return await run.read(views.roster, who, activity_id, page)

    return api
