"""Reports (随手拍) and the actions on them: filing, photos, following, staff and reporter actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from services.tickets.adapters.orm import Ticket
from services.tickets.adapters.photos import CleanPhoto
from services.tickets.entrypoints.http.bodies import body_doc, read_body
from services.tickets.entrypoints.http.deps import People, Readers, Reporter, Staff
from services.tickets.entrypoints.http.schemas import (
    AnyTicketView,
    AssignIn,
    CloseIn,
    FollowView,
    NoteIn,
    OpenedView,
    RateIn,
    ReopenIn,
    TicketIn,
    TicketSummary,
    TicketView,
)
from services.tickets.service_layer import reports, scope, views, workflow
from services.tickets.service_layer.media import clean_photos
from shared.identity import Principal
from shared.service import ServiceContext
from shared.web.fields import PathCode, QueryCode
from shared.web.pages import Page, Paging
from shared.web.runner import Runner

StatusFilter = Annotated[
    str | None, Query(pattern=r"^(open|submitted|acknowledged|assigned|in_progress|resolved|closed|reopened)$")
]
PersonFilter = Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[^\s]+$")]
CommunityFilter = Annotated[str | None, Query(min_length=1, max_length=64)]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def _photos(ctx: ServiceContext, files: list[tuple[str, bytes]]) -> list[CleanPhoto]:
    """Cleaned photos (decoding is slow: in a worker thread, which also uploads them to a remote store);
    no thread hop without files."""
    return await run_in_threadpool(clean_photos, files, ctx) if files else []


def build(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["tickets"])
    run = Runner(ctx.store)

    def linked(view, request: Request):  # type: ignore[no-untyped-def]
        """``view`` with absolute photo URLs, signed and short-lived for a private ticket's photos (the
        server's address is only worked out for a view with photos: it costs a few per cent of a report)."""
        if not getattr(view, "photos", None):
            return view
        return views.absolute(view, _base(request), (ctx.settings.pii_key, ctx.clock.now()))

    async def full(request: Request, step: Callable[[Session], Ticket]) -> TicketView:
        """Run ``step`` (one transaction) and answer the ticket's full view, photo URLs absolute."""
        return linked(await run(lambda s: views.full_view(s, step(s))), request)

    async def noted(
        request: Request,
        who: Principal,
        ticket_id: str,
        state: str,
        body: NoteIn,
        step: Callable[[Session, str | None], Ticket],
    ) -> TicketView:
        """``full`` for a staff step on a ticket of the caller's communities (404 otherwise), given the note of
        ``body`` (written, or the category's template for ``state``)."""

        def work(s: Session) -> Ticket:
            scope.staff_ticket(s, ticket_id, who)
            return step(s, workflow.template_note(s, ticket_id, state, body.template, body.note))

        return await full(request, work)

    @router.post("/tickets", status_code=201, openapi_extra=body_doc(TicketIn, files=True))
    async def create_ticket(request: Request, who: People) -> OpenedView:
        """A resident reports a problem (随手拍): JSON, or multipart with up to 6 photos (field ``photo``)."""
        body, files = await read_body(request, TicketIn, files=True)
        photos = await _photos(ctx, files)

        def work(s):  # type: ignore[no-untyped-def]
            scope.may_file(who, body.community)
            opened = reports.open_report(ctx, s, reporter=who.sub, photos=photos, **body.model_dump())
            return views.opened_view(s, opened.ticket, opened.category, opened.history, opened.photos)

        return linked(await run(work), request)

    @router.get("/tickets")
    async def list_tickets(
        who: Readers,
        page: Paging,
        status: StatusFilter = None,
        category: QueryCode = None,
        community: CommunityFilter = None,
        assignee: PersonFilter = None,
    ) -> Page[TicketSummary]:
        """Residents and volunteers: their own reports; staff: their communities', filtered (``status=open``)."""
        return await run.rows(
            views.tickets_for,
            who,
            status=status,
            category=category,
            community=community,
            assignee=assignee,
            page=page,
        )

    @router.get("/tickets/{ticket_id}")
    async def get_one(ticket_id: PathCode, request: Request, who: Readers) -> AnyTicketView:
        """Full view for staff of its community and the reporter; others see the anonymised view."""
        return linked(await run.read(views.view_for, ticket_id, who), request)

    @router.post(
        "/tickets/{ticket_id}/photos",
        status_code=201,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["photo"],
                            "properties": {
                                "photo": {
                                    "type": "array",
                                    "items": {"type": "string", "format": "binary"},
                                    "maxItems": 6,
                                }
                            },
                        }
                    }
                },
            }
        },
    )
    async def add_photos(ticket_id: PathCode, request: Request, who: People) -> TicketView:
        """Add photos to a report (the reporter or staff), multipart field ``photo``."""
        _none, files = await read_body(request, NoteIn, files=True)
        photos = await _photos(ctx, files)
        return await full(request, lambda s: reports.add_photos(ctx, s, ticket_id, who, photos))

    @router.post("/tickets/{ticket_id}/follow")
    async def follow(ticket_id: PathCode, who: Reporter) -> FollowView:
        """Follow an existing report instead of filing a duplicate (no body): receive its updates."""
        added = await run(lambda s: reports.follow(ctx, s, ticket_id, who))
        return FollowView(ticket_id=ticket_id, following=True, new=added)

    # -- staff actions -----------------------------------------------------------------------------

    # Staff actions read JSON or a URL-encoded form (``curl -d note=已派人``, UTF-8) alike: read_body.
    @router.post("/tickets/{ticket_id}/acknowledge", openapi_extra=body_doc(NoteIn, required=False))
    async def acknowledge(ticket_id: PathCode, request: Request, who: Staff) -> TicketView:
        """First response (受理); auto-assigns round-robin when the pool has someone on duty."""
        body, _ = await read_body(request, NoteIn)
        return await noted(
            request,
            who,
            ticket_id,
            "acknowledged",
            body,
            lambda s, note: workflow.acknowledge(ctx, s, ticket_id, who.sub, note),
        )

    @router.post("/tickets/{ticket_id}/assign", openapi_extra=body_doc(AssignIn, required=False))
    async def assign(ticket_id: PathCode, request: Request, who: Staff) -> TicketView:
        """Assign to ``assignee`` or, without one, to the next on-duty member (round-robin)."""
        b, _ = await read_body(request, AssignIn)
        return await noted(
            request,
            who,
            ticket_id,
            "assigned",
            b,
            lambda s, note: workflow.assign(ctx, s, ticket_id, who.sub, b.assignee, note),
        )

    @router.post("/tickets/{ticket_id}/start", openapi_extra=body_doc(NoteIn, required=False))
    async def start(ticket_id: PathCode, request: Request, who: Staff) -> TicketView:
        """Work starts (处理中), with an optional note."""
        body, _ = await read_body(request, NoteIn)
        return await noted(
            request,
            who,
            ticket_id,
            "in_progress",
            body,
            lambda s, note: workflow.start(ctx, s, ticket_id, who.sub, note),
        )

    @router.post("/tickets/{ticket_id}/resolve", openapi_extra=body_doc(NoteIn, files=True, required=False))
    async def resolve(ticket_id: PathCode, request: Request, who: Staff) -> TicketView:
        """Work done (办结): JSON, or multipart with an after photo (field ``photo``)."""
        body, files = await read_body(request, NoteIn, files=True)
        photos = await _photos(ctx, files)
        return await noted(
            request,
            who,
            ticket_id,
            "resolved",
            body,
            lambda s, note: workflow.resolve(ctx, s, ticket_id, who.sub, note, photos),
        )

    @router.post("/tickets/{ticket_id}/close", openapi_extra=body_doc(CloseIn))
    async def close(ticket_id: PathCode, request: Request, who: Staff) -> TicketView:
        """Close without a fix: reason duplicate, not_responsible or rejected, with a note."""
        body, _ = await read_body(request, CloseIn)
        return await noted(
            request,
            who,
            ticket_id,
            "closed",
            body,
            lambda s, note: workflow.close(ctx, s, ticket_id, who.sub, body.reason, note),
        )

    # -- reporter actions --------------------------------------------------------------------------
    @router.post("/tickets/{ticket_id}/rate")
    async def rate(ticket_id: PathCode, body: RateIn, request: Request, who: Reporter) -> TicketView:
        """The reporter confirms the fix with a rating 1-5 (closes the ticket)."""
        return await full(request, lambda s: workflow.rate(ctx, s, ticket_id, who.sub, body.rating, body.comment))

    @router.post("/tickets/{ticket_id}/reopen")
    async def reopen(ticket_id: PathCode, body: ReopenIn, request: Request, who: Reporter) -> TicketView:
        """The reporter reopens a resolved ticket within 14 days, with a comment."""
        return await full(request, lambda s: workflow.reopen(ctx, s, ticket_id, who.sub, body.comment))

    @router.post("/tickets/{ticket_id}/withdraw", openapi_extra=body_doc(NoteIn, required=False))
    async def withdraw(ticket_id: PathCode, request: Request, who: Reporter) -> TicketView:
        """The reporter withdraws their report before the work starts."""
        body, _ = await read_body(request, NoteIn)
        note = body.note
        return await full(request, lambda s: workflow.withdraw(ctx, s, ticket_id, who.sub, note))

    return router
