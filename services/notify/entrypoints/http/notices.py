"""Notices to the people of a place: "明天9:00–12:00 5号楼停水" to everyone living in building 5."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import StringConstraints

from services.notify.entrypoints.http.deps import Staff
from services.notify.service_layer import audience
from shared.service import ServiceContext
from shared.web.fields import Body, PathCode, View
from shared.web.runner import Runner

Level = Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class NoticeIn(Body):
    """A notice to a community, or one of its estates, buildings, units or households."""

    community: Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
    estate: Annotated[str | None, StringConstraints(max_length=64)] = None
    building: Level | None = None
    unit: Level | None = None
    household_id: Annotated[str | None, StringConstraints(max_length=64)] = None
    title: Title
    body: Text
    urgent: bool = False
    """Urgent notices go out at once, through quiet hours and digests; others wait for them."""


class NoticeView(View):
    id: str
    community: str
    estate: str | None
    building: str | None
    unit: str | None
    household_id: str | None
    title: str
    urgent: bool
    created_at: datetime
    recipients: int


class NoticeReportView(View):
    """What became of a notice: in-app messages (read or not) and deliveries on external channels."""

    notice: NoticeView
    messages: int
    read: int
    deliveries: int
    sent: int
    waiting: int
    failed: int


def build_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    @router.post("/notices", status_code=201)
    async def send_notice(body: NoticeIn, who: Staff) -> NoticeView:
        """Send a notice to everyone living at a place of a community the caller serves, once each."""
        place = audience.Place(body.community, body.estate, body.building, body.unit, body.household_id)
        return NoticeView.model_validate(
            await run(lambda s: audience.send(ctx, s, who, place, body.title, body.body, body.urgent))
        )

    @router.get("/notices/{notice_id}")
    async def notice_report(notice_id: PathCode, who: Staff) -> NoticeReportView:
        """A notice's delivery report: how many it reached, read it, and were sent a message."""
        found = await run.read(audience.report, who, notice_id)
        return NoticeReportView.model_validate(found)

    return router
