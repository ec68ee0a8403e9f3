"""Categories (Open311 services) as data: the public list, staff's changes, response templates."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from services.tickets.entrypoints.http.deps import CategoryCode, Configurers
from services.tickets.entrypoints.http.schemas import CategoryIn, CategoryView
from services.tickets.service_layer import categories, views
from shared.service import ServiceContext
from shared.web import etags
from shared.web.auth import public
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def build(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["categories"])
    run = Runner(ctx.store)

    @router.get("/categories", dependencies=[Depends(public())])
    async def list_categories(page: Paging) -> Page[CategoryView]:
        """Categories residents can report under, with their deadlines (public)."""
        return await run.read(views.categories_page, page)

    @router.get("/categories/{code}", dependencies=[Depends(public())])
    async def get_category(code: CategoryCode, response: Response) -> CategoryView:
        """One active category, with its ``ETag`` for a conditional change (public)."""

        def read(s):
            row = categories.active(s, code)
            return views.category_view(row), etags.tag(row)

        return etags.answer(response, await run.read(read))

    @router.put("/categories/{code}", responses=etags.RESPONSES)
    async def put_category(
        code: CategoryCode, body: CategoryIn, who: Configurers, response: Response, if_match: etags.IfMatch = None
    ) -> CategoryView:
        """Create or change a category (deadlines, pool, supervisor, attributes, templates).

        With ``If-Match`` (the ETag of ``GET /categories/{code}``) only while nobody changed it since: else 412."""
        values = body.model_dump(exclude_none=True, mode="json")

        def write(s):
            etags.guard(s, f"tickets:category:{code}", if_match, lambda: categories.find(s, code))
            row = categories.upsert(s, code, values)
            return views.category_view(row), etags.stored_tag(s, row)

        return etags.answer(response, await run(write))

    @router.get("/categories/{code}/templates")
    async def templates(code: CategoryCode, who: Configurers) -> dict[str, list[str]]:
        """Response templates per state, for status notes (use ``template``: index)."""
        return await run.read(categories.templates_of, code)

    return router
