"""HTTP routes of the tickets service, mounted at /api/tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from services.tickets.adapters.orm import Ticket
from services.tickets.service_layer import reports
from shared.web.auth import Principal, allow
from shared.runtime import ServiceContext


class TicketIn(BaseModel):
    category: str = Field(min_length=1, max_length=64, examples=["manhole"])
    title: str = Field(min_length=1, max_length=200, examples=["井盖松动"])
    description: str = Field(min_length=1, max_length=4000)
    community: str | None = Field(default=None, max_length=64)
    building: str | None = Field(default=None, max_length=32)
    unit: str | None = Field(default=None, max_length=32)


class TicketOut(BaseModel):
    id: str
    category: str
    title: str
    description: str
    community: str | None
    building: str | None
    unit: str | None
    status: str
    created_at: datetime


def build_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()

    @router.post("/tickets", status_code=201, response_model=TicketOut)
    def create_ticket(body: TicketIn, who: Annotated[Principal, Depends(allow("resident", "staff"))]) -> Ticket:
        """A resident reports a problem (随手拍)."""
        with ctx.store.transaction() as session:
            return reports.open_ticket(ctx, session, reporter=who.sub, **body.model_dump())

    @router.get("/tickets/{ticket_id}", response_model=TicketOut)
    def get_ticket(ticket_id: str, who: Annotated[Principal, Depends(allow("resident", "staff"))]) -> Ticket:
        with ctx.store.transaction() as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None or (not who.has("staff") and ticket.reporter != who.sub):
                raise HTTPException(404, f"工单不存在 / no ticket {ticket_id}")
            return ticket

    return router
