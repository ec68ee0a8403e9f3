"""Branches, titles, copies and loan policies."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.library.domain.isbn import normalize_isbn
from services.library.entrypoints.http.deps import (
    Barcode,
    BranchCode,
    Desk,
    Isbn,
    Operator,
    PolicyKey,
    Readers,
    Staff,
)
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
from services.library.service_layer import catalog, common, policy, views
from shared.service import ServiceContext
from shared.web import etags
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.get("/branches")
    async def list_branches(page: Paging, _: Readers) -> Page[BranchView]:
        """Book houses and partner library desks, by code."""
        return await run.rows(views.branches, page)

    @api.get("/branches/{code}")
    async def get_branch(code: BranchCode, _: Readers, response: Response) -> BranchView:
        """One book house or partner desk, with the ``ETag`` a conditional change sends."""

        def read(s):
            row = common.branch(s, code)
            return views.branch(row), etags.tag(row)

        return etags.answer(response, await run.read(read))

    @api.put("/branches/{code}", responses=etags.RESPONSES)
    async def put_branch(
        code: BranchCode, body: BranchIn, _: Operator, response: Response, if_match: etags.IfMatch = None
    ) -> BranchView:
        """Create or change a branch; with ``If-Match``, only if nobody changed it since (else 412)."""
        values = body.model_dump()

        def write(s):
            etags.guard(s, f"library:branch:{code}", if_match, lambda: catalog.find_branch(s, code))
            row = catalog.upsert_branch(s, code=code, **values)
            return views.branch(row), etags.stored_tag(s, row)

        return etags.answer(response, await run(write))

    @api.put("/titles", responses=etags.RESPONSES)
    async def put_title(body: TitleIn, _: Desk, response: Response, if_match: etags.IfMatch = None) -> TitleView:
        """Add a title; ISBN-10 is converted to ISBN-13, wrong check digits answer 422. With ``If-Match`` (the ETag
        of ``GET /titles/{isbn}`` for the title the body names), only if nobody changed it since (else 412)."""
        values = body.model_dump()

        def write(s):
            key = f"library:title:{normalize_isbn(body.isbn)}"
            etags.guard(s, key, if_match, lambda: catalog.find_title(s, body.isbn))
            row = catalog.upsert_title(s, **values)
            return views.title(row), etags.stored_tag(s, row)

        return etags.answer(response, await run(write))

    @api.get("/titles/{isbn}")
    async def get_title(isbn: Isbn, _: Readers, response: Response) -> TitleDetailView:
        """A title with its copies (where they are, whether they can be borrowed); the ``ETag`` is the title's
        own (its name, author, publisher), which ``PUT /titles`` may send as ``If-Match``."""

        def read(s):
            return views.title_detail(s, isbn), etags.tag(catalog.find_title(s, isbn))

        return etags.answer(response, await run.read(read))

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

    @api.get("/policies/{branch}/{reader_group}")
    async def get_policy(branch: PolicyKey, reader_group: PolicyKey, _: Operator, response: Response) -> PolicyView:
        """The loan rule stored for exactly this branch and reader group (``*`` for any), with its ``ETag``."""

        def read(s):
            row = policy.get(s, branch, reader_group)
            return views.policy(row), etags.tag(row)

        return etags.answer(response, await run.read(read))

    @api.put("/policies", responses=etags.RESPONSES)
    async def put_policy(body: PolicyIn, _: Operator, response: Response, if_match: etags.IfMatch = None) -> PolicyView:
        """Loan rules for a branch and reader group (``*`` for any).

        With ``If-Match`` (the ETag of ``GET /policies/{branch}/{reader_group}`` for the rule the body names):
        only if that rule was not changed since (else 412)."""
        values = body.model_dump()
        key = f"library:policy:{body.branch}:{body.reader_group}"

        def write(s):
            etags.guard(s, key, if_match, lambda: policy.find(s, body.branch, body.reader_group))
            row = policy.upsert(s, **values)
            return views.policy(row), etags.stored_tag(s, row)

        return etags.answer(response, await run(write))

    return api
