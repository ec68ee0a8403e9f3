"""Branches, titles, copies and loan policies."""

from __future__ import annotations

from fastapi import APIRouter

from services.library.entrypoints.http.deps import Barcode, BranchCode, Desk, Isbn, Operator, Readers, Staff
from services.library.entrypoints.http.schemas import (
    BranchIn,
    BranchView,
    CopyIn,
    CopyView,
    PolicyIn,
    PolicyView,
    StatusIn,
    TitleDetailView,
    TitleIn,
    TitleView,
)
from services.library.service_layer import catalog, policy, views
from shared.service import ServiceContext
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.get("/branches")
    async def list_branches(page: Paging, _: Readers) -> Page[BranchView]:
        """Book houses and partner library desks, by code."""
        return await run.read(views.branches, page)

    @api.put("/branches/{code}")
    async def put_branch(code: BranchCode, body: BranchIn, _: Operator) -> BranchView:
        """Create or change a branch."""
        return await run(lambda s: views.branch(catalog.upsert_branch(s, code=code, **body.model_dump())))

    @api.put("/titles")
    async def put_title(body: TitleIn, _: Desk) -> TitleView:
        """Add a title; ISBN-10 is converted to ISBN-13, wrong check digits answer 422."""
        return await run(lambda s: views.title(catalog.upsert_title(s, **body.model_dump())))

    @api.get("/titles/{isbn}")
    async def get_title(isbn: Isbn, _: Readers) -> TitleDetailView:
        """A title with its copies (where they are, whether they can be borrowed)."""
        return await run.read(views.title_detail, isbn)

    @api.post("/copies", status_code=201)
    async def post_copy(body: CopyIn, who: Staff) -> CopyView:
        """Add a copy on its home branch's shelf (staff of that book house); a barcode already used answers 409."""
        return await run(lambda s: views.copy(s, catalog.add_copy(ctx, s, who=who, **body.model_dump())))

    @api.get("/copies/{barcode}")
    async def get_copy(barcode: Barcode, _: Desk) -> CopyView:
        """A copy: where it is and its status."""
        return await run.read(views.copy_by_barcode, barcode)

    @api.post("/copies/{barcode}/status")
    async def post_copy_status(barcode: Barcode, body: StatusIn, who: Staff) -> CopyView:
        """Mark a copy missing, lost, claimed returned, withdrawn, or found; illegal changes answer 409."""
        return await run(lambda s: views.copy(s, catalog.set_status(ctx, s, barcode, body.status, who)))

    @api.put("/policies")
    async def put_policy(body: PolicyIn, _: Operator) -> PolicyView:
        """Loan rules for a branch and reader group (``*`` for any)."""
        return await run(lambda s: views.policy(policy.upsert(s, **body.model_dump())))

    return api
