"""The delivery log: every message to an external channel with its attempts (the activity feed)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import AfterValidator

from services.notify.entrypoints.http.deps import Staff
from services.notify.entrypoints.http.schemas import DeliveryView, page_of_views
from services.notify.service_layer import scope, views
from shared.service import ServiceContext
from shared.web.fields import printable
from shared.web.pages import Page, Paging
from shared.web.runner import Runner

Status = Literal["pending", "sending", "sent", "failed"]
Filter = Annotated[str | None, Query(min_length=1, max_length=128), AfterValidator(lambda v: v and printable(v))]


def build_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    @router.get("/deliveries")
    async def deliveries(
        who: Staff,
        page: Paging,
        recipient: Filter = None,
        event_id: Filter = None,
        status: Status | None = None,
    ) -> Page[DeliveryView]:
        """The activity feed, newest first: deliveries with every attempt, by recipient, event and status (to
        recipients of the caller's communities)."""
        found = await run.read(
            views.deliveries,
            page,
            recipient=recipient,
            event_id=event_id,
            status=status,
            communities=scope.communities_of(who),
        )
        return page_of_views(DeliveryView, found)

    return router
