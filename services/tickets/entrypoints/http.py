"""HTTP routes of the tickets service, mounted at /api/tickets."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from services.tickets.adapters.orm import Category
from services.tickets.adapters.photos import EXT, CleanPhoto
from services.tickets.domain.errors import TicketError
from services.tickets.entrypoints.inputs import cleaned_photos, parse, read_input
from services.tickets.service_layer import categories, kpis, reports, staff, workflow
from services.tickets.service_layer.common import attach_photos, get_category, get_ticket, photo_store
from shared.service import ServiceContext
from shared.web.auth import Principal, allow, public

REPORTER = allow("resident", "volunteer")  # reporter actions (the use case checks it is *their* ticket)
STAFF = allow("staff", "operator")
PEOPLE = allow("resident", "staff", "operator")  # who may file reports
READERS = allow("resident", "volunteer", "staff", "operator")
MEDIA_NAME = re.compile(r"^([0-9a-f]{64})\.(jpg|png|webp)$")
KIND_OF_EXT = {v: k for k, v in EXT.items()}


class TicketIn(BaseModel):
    category: str = Field(min_length=1, max_length=64, examples=["manhole"])
    title: str = Field(min_length=1, max_length=200, examples=["井盖松动"])
    description: str = Field(min_length=1, max_length=4000)
    community: str | None = Field(default=None, max_length=64)
    building: str | None = Field(default=None, max_length=32)
    unit: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    attributes: dict[str, Any] = {}


class NoteIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)
    template: int | None = None


class AssignIn(NoteIn):
    assignee: str | None = Field(default=None, max_length=128)


class CloseIn(NoteIn):
    reason: str


class RateIn(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)


class ReopenIn(BaseModel):
    comment: str = Field(min_length=1, max_length=1000)


class CategoryIn(BaseModel):
    name: str | None = Field(default=None, max_length=64)
    name_en: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    group: str | None = Field(default=None, max_length=64)
    keywords: str | None = Field(default=None, max_length=200)
    safety_critical: bool | None = None
    response_hours: float | None = Field(default=None, gt=0)
    resolution_hours: float | None = Field(default=None, gt=0)
    pool: str | None = Field(default=None, max_length=64)
    supervisor: str | None = Field(default=None, max_length=128)
    secretary: str | None = Field(default=None, max_length=128)
    attributes: list[dict[str, Any]] | None = None
    templates: dict[str, list[str]] | None = None
    active: bool | None = None


class DutyIn(BaseModel):
    display_name: str = Field(default="", max_length=64)
    on_duty: bool = True


def _absolute(request: Request, view: dict[str, Any]) -> dict[str, Any]:
    has_photos = view.get("photos") or any(entry.get("photos") for entry in view.get("history", []))
    base = str(request.base_url).rstrip("/") if has_photos else ""  # base_url is costly: only when needed
    view["photos"] = [base + p for p in view.get("photos", [])]
    view["media_url"] = view["photos"][0] if view["photos"] else None
    for entry in view.get("history", []):
        if entry.get("photos"):
            entry["photos"] = [base + p for p in entry["photos"]]
    return view


def category_out(c: Category) -> dict[str, Any]:
    return c.model_dump()


def build_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()

    def unit_of_work(fn: Callable[..., Any], readonly: bool = False) -> Any:
        """Run ``fn(session, written)`` in one transaction; new photo files are removed if it fails."""
        written: list[CleanPhoto] = []
        try:
            with ctx.store.transaction(readonly=readonly) as session:
                return fn(session, written)
        except TicketError as exc:
            _discard(written)
            raise HTTPException(exc.status, str(exc)) from None
        except BaseException:
            _discard(written)
            raise

    def _discard(written: list[CleanPhoto]) -> None:
        store = photo_store(ctx)
        for photo in written:
            store.remove(photo)

    async def call(fn: Callable[..., Any]) -> Any:
        return await ctx.store.run(unit_of_work, fn)

    async def read(fn: Callable[..., Any]) -> Any:
        """Like :func:`call` for routes that only read (they do not wait for writers)."""
        return await ctx.store.run(unit_of_work, fn, True)

    # -- categories ------------------------------------------------------------------------
    @router.get("/categories", dependencies=[Depends(public())])
    async def list_categories() -> list[dict[str, Any]]:
        """Categories residents can report under, with their deadlines (public)."""
        return await call(lambda s, _w: [category_out(c) for c in categories.list_categories(s)])

    @router.put("/categories/{code}")
    async def put_category(code: str, body: CategoryIn, who: Annotated[Principal, Depends(STAFF)]) -> dict[str, Any]:
        """Create or change a category (deadlines, pool, supervisor, attributes, templates)."""
        if not re.fullmatch(r"[a-z0-9_\-]{1,64}", code):
            raise HTTPException(422, "类别代码只能用小写字母、数字、_ 和 - / code must be [a-z0-9_-]")
        return await call(lambda s, _w: category_out(categories.upsert(s, code, body.model_dump(exclude_none=True))))

    # -- reports ---------------------------------------------------------------------------
    @router.post("/tickets", status_code=201)
    async def create_ticket(request: Request, who: Annotated[Principal, Depends(PEOPLE)]) -> dict[str, Any]:
        """A resident reports a problem (随手拍): JSON, or multipart with up to 6 photos (field ``photo``)."""
        fields, files = await read_input(request)
        body = parse(TicketIn, fields)
        photos = await cleaned_photos(files)

        def work(session, written):
            opened = reports.open_report(
                ctx, session, reporter=who.sub, photos=photos, written=written, **body.model_dump()
            )
            return {**reports.opened_view(session, opened), "similar": reports.similar_open(session, opened.ticket)}

        return _absolute(request, await call(work))

    @router.get("/tickets")
    async def list_tickets(
        who: Annotated[Principal, Depends(READERS)],
        status: str | None = None,
        category: str | None = None,
        community: str | None = None,
        assignee: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Residents and volunteers: their own reports; staff: all, filtered (``status=open`` for the open ones)."""
        reporter = None if who.has("staff", "operator") else who.sub

        return await read(
            lambda s, _w: reports.list_tickets(
                s,
                reporter=reporter,
                status=status,
                category=category,
                community=community,
                assignee=assignee,
                limit=limit,
            )
        )

    @router.get("/tickets/{ticket_id}")
    async def get_one(ticket_id: str, request: Request, who: Annotated[Principal, Depends(READERS)]) -> dict[str, Any]:
        """Full view for staff and the reporter; others see the anonymised view."""
        staff_view = who.has("staff", "operator")
        return _absolute(request, await read(lambda s, _w: reports.view_for(s, ticket_id, who.sub, staff_view)))

    @router.post("/tickets/{ticket_id}/photos", status_code=201)
    async def add_photos(
        ticket_id: str, request: Request, who: Annotated[Principal, Depends(PEOPLE)]
    ) -> dict[str, Any]:
        """Add photos to a report (the reporter or staff), multipart field ``photo``."""
        _fields, files = await read_input(request)
        if not files:
            raise HTTPException(422, "没有照片 / no photo in the request")
        photos = await cleaned_photos(files)

        def work(session, written):
            ticket = get_ticket(session, ticket_id)
            if not who.has("staff", "operator") and ticket.reporter != who.sub:
                raise HTTPException(403, "只有报事人或工作人员可以上传 / only the reporter or staff may add photos")
            if len(reports.photos_of(session, ticket_id)) + len(photos) > 6:
                raise HTTPException(413, "每个工单最多 6 张照片 / at most 6 photos per report")
            attach_photos(ctx, session, ticket, photos, None, written)
            session.flush()
            return reports.full_view(session, ticket)

        return _absolute(request, await call(work))

    @router.post("/tickets/{ticket_id}/follow")
    async def follow(ticket_id: str, who: Annotated[Principal, Depends(REPORTER)]) -> dict[str, Any]:
        """Follow an existing report instead of filing a duplicate (receive its updates)."""
        added = await call(lambda s, _w: reports.follow(ctx, s, ticket_id, who.sub))
        return {"ticket_id": ticket_id, "following": True, "new": added}

    @router.get("/media/{name}", dependencies=[Depends(public())])
    async def media(name: str) -> FileResponse:
        """A stored photo (EXIF removed), addressed by its SHA-256."""
        match = MEDIA_NAME.match(name)
        path = photo_store(ctx).path(match.group(1), KIND_OF_EXT[match.group(2)]) if match else None
        if path is None or not path.exists():
            raise HTTPException(404, f"照片不存在 / no photo {name}")
        return FileResponse(
            path,
            media_type=f"image/{KIND_OF_EXT[match.group(2)]}",
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    # -- staff actions ---------------------------------------------------------------------
    async def staff_action(
        request: Request, ticket_id: str, model: type[BaseModel], state: str, action: Callable[..., Any]
    ) -> dict[str, Any]:
        fields, files = await read_input(request)
        body = parse(model, fields)
        photos = await cleaned_photos(files)

        def work(session, written):
            note = workflow.template_note(session, ticket_id, state, body.template, body.note)
            ticket = action(session, body, note, photos, written)
            session.flush()
            return reports.full_view(session, ticket)

        return _absolute(request, await call(work))

    @router.post("/tickets/{ticket_id}/acknowledge")
    async def acknowledge(
        ticket_id: str, request: Request, who: Annotated[Principal, Depends(STAFF)]
    ) -> dict[str, Any]:
        """First response (受理); auto-assigns round-robin when the pool has someone on duty."""
        return await staff_action(
            request,
            ticket_id,
            NoteIn,
            "acknowledged",
            lambda s, b, note, p, w: workflow.acknowledge(ctx, s, ticket_id, who.sub, note),
        )

    @router.post("/tickets/{ticket_id}/assign")
    async def assign(ticket_id: str, request: Request, who: Annotated[Principal, Depends(STAFF)]) -> dict[str, Any]:
        """Assign to ``assignee`` or, without one, to the next on-duty member (round-robin)."""
        return await staff_action(
            request,
            ticket_id,
            AssignIn,
            "assigned",
            lambda s, b, note, p, w: workflow.assign(ctx, s, ticket_id, who.sub, b.assignee, note),
        )

    @router.post("/tickets/{ticket_id}/start")
    async def start(ticket_id: str, request: Request, who: Annotated[Principal, Depends(STAFF)]) -> dict[str, Any]:
        return await staff_action(
            request,
            ticket_id,
            NoteIn,
            "in_progress",
            lambda s, b, note, p, w: workflow.start(ctx, s, ticket_id, who.sub, note),
        )

    @router.post("/tickets/{ticket_id}/resolve")
    async def resolve(ticket_id: str, request: Request, who: Annotated[Principal, Depends(STAFF)]) -> dict[str, Any]:
        """Work done (办结), optionally with an after photo (multipart field ``photo``)."""
        return await staff_action(
            request,
            ticket_id,
            NoteIn,
            "resolved",
            lambda s, b, note, p, w: workflow.resolve(ctx, s, ticket_id, who.sub, note, p, w),
        )

    @router.post("/tickets/{ticket_id}/close")
    async def close(ticket_id: str, request: Request, who: Annotated[Principal, Depends(STAFF)]) -> dict[str, Any]:
        """Close without a fix: reason duplicate, not_responsible or rejected, with a note."""
        return await staff_action(
            request,
            ticket_id,
            CloseIn,
            "closed",
            lambda s, b, note, p, w: workflow.close(ctx, s, ticket_id, who.sub, b.reason, note),
        )

    # -- reporter actions ------------------------------------------------------------------
    @router.post("/tickets/{ticket_id}/rate")
    async def rate(
        ticket_id: str, body: RateIn, request: Request, who: Annotated[Principal, Depends(REPORTER)]
    ) -> dict[str, Any]:
        """The reporter confirms the fix with a rating 1-5 (closes the ticket)."""
        return _absolute(
            request,
            await call(
                lambda s, _w: reports.full_view(s, workflow.rate(ctx, s, ticket_id, who.sub, body.rating, body.comment))
            ),
        )

    @router.post("/tickets/{ticket_id}/reopen")
    async def reopen(
        ticket_id: str, body: ReopenIn, request: Request, who: Annotated[Principal, Depends(REPORTER)]
    ) -> dict[str, Any]:
        """The reporter reopens a resolved ticket within 14 days, with a comment."""
        return _absolute(
            request,
            await call(lambda s, _w: reports.full_view(s, workflow.reopen(ctx, s, ticket_id, who.sub, body.comment))),
        )

    @router.post("/tickets/{ticket_id}/withdraw")
    async def withdraw(
        ticket_id: str, body: NoteIn, request: Request, who: Annotated[Principal, Depends(REPORTER)]
    ) -> dict[str, Any]:
        """The reporter withdraws their report before the work starts."""
        return _absolute(
            request,
            await call(lambda s, _w: reports.full_view(s, workflow.withdraw(ctx, s, ticket_id, who.sub, body.note))),
        )

    # -- roster, templates and KPIs --------------------------------------------------------
    @router.get("/staff")
    async def list_staff(who: Annotated[Principal, Depends(STAFF)], pool: str | None = None) -> list[dict[str, Any]]:
        """The duty roster (round-robin pools)."""
        return await call(lambda s, _w: [r.model_dump() for r in staff.roster(s, pool)])

    @router.put("/staff/{pool}/{staff_id}")
    async def put_staff(
        pool: str, staff_id: str, body: DutyIn, who: Annotated[Principal, Depends(STAFF)]
    ) -> dict[str, Any]:
        """Add someone to a pool, or put them on or off duty."""
        return await call(lambda s, _w: staff.upsert(s, pool, staff_id, body.display_name, body.on_duty).model_dump())

    @router.get("/categories/{code}/templates")
    async def templates(code: str, who: Annotated[Principal, Depends(STAFF)]) -> dict[str, list[str]]:
        """Response templates per state, for status notes (use ``template``: index)."""
        return await call(lambda s, _w: get_category(s, code).templates or {})

    @router.get("/kpis")
    async def get_kpis(
        who: Annotated[Principal, Depends(STAFF)],
        month: str | None = None,
        category: str | None = None,
        community: str | None = None,
    ) -> dict[str, Any]:
        """12345 indicators per category and month, first-response median/p90, open backlog by age."""
        if month is not None and not re.fullmatch(r"\d{4}-\d{2}", month):
            raise HTTPException(422, "月份格式应为 YYYY-MM / month must be YYYY-MM")
        return await call(
            lambda s, _w: kpis.compute(s, ctx.clock.now(), month=month, category=category, community=community)
        )

    return router
