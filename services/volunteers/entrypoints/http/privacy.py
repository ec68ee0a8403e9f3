"""The access log: who was shown an elder's health data or a volunteer's full phone, when and why."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.volunteers.entrypoints.http.deps import Auditors
from services.volunteers.entrypoints.http.schemas import AccessEntry
from services.volunteers.service_layer import consent
from shared.service import ServiceContext
from shared.web.fields import Code
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def routes(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    @router.get("/access-log")
    async def access_log(
        who: Auditors,
        page: Paging,
        subject_kind: Literal["elder", "volunteer"] | None = None,
        subject_id: Annotated[Code | None, Query()] = None,
    ) -> Page[AccessEntry]:
        """Reads of sensitive fields, newest first: staff see their communities', operators all (no values)."""
        return await run.read(
            lambda s: consent.access_entries(s, who, page, subject_kind=subject_kind, subject_id=subject_id)
        )

    return router
