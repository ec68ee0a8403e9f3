"""Categories (Open311 services) as data: the public list, staff's changes, response templates."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from services.tickets.entrypoints.http.deps import CategoryCode, Configurers
from services.tickets.entrypoints.http.schemas import CategoryIn, CategoryView
from services.tickets.service_layer import categories, views
from shared.service import ServiceContext
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

    @router.put("/categories/{code}")
    async def put_category(code: CategoryCode, body: CategoryIn, who: Configurers) -> CategoryView:
        """Create or change a category (deadlines, pool, supervisor, attributes, templates)."""
        values = body.model_dump(exclude_none=True, mode="json")
        return await run(lambda s: views.category_view(categories.upsert(s, code, values)))

    @router.get("/categories/{code}/templates")
    async def templates(code: CategoryCode, who: Configurers) -> dict[str, list[str]]:
        """Response templates per state, for status notes (use ``template``: index)."""
        return await run.read(categories.templates_of, code)

    return router
