"""Request models of the tickets routes (the response models are the read views, ``service_layer/views.py``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from services.tickets.domain.attributes import AttributeDef
from services.tickets.service_layer.views import (
    AnyTicketView,
    CategoryView,
    DutyView,
    FollowView,
    KpiView,
    OpenedView,
    PublicTicketView,
    TicketSummary,
    TicketView,
)
from shared.web.fields import Body, Code

__all__ = [
    "AnyTicketView",
    "AssignIn",
    "CategoryIn",
    "CategoryView",
    "CloseIn",
    "DutyIn",
    "DutyView",
    "FollowView",
    "KpiView",
    "NoteIn",
    "OpenedView",
    "PublicTicketView",
    "RateIn",
    "ReopenIn",
    "TicketIn",
    "TicketSummary",
    "TicketView",
]

AttrValue = (
    Annotated[str, StringConstraints(max_length=2000)]
    | Annotated[int, Field(ge=-(2**53), le=2**53)]
    | Annotated[float, Field(ge=-1e12, le=1e12)]
    | bool
    | Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=50)]
)
AttrKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Person = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\s]+$")]
"""A staff member's or resident's id (``staff:li-yao``)."""
Hours = Annotated[float, Field(gt=0, le=8760, description="hours, at most a year")]
TemplateState = Literal["acknowledged", "assigned", "in_progress", "resolved", "closed", "reopened"]


class TicketIn(Body):
    """A report (随手拍). As multipart, the same fields as form fields, attributes as ``attribute[code]``
    and up to 6 files ``photo``."""

    category: Code = Field(examples=["manhole"])
    title: str = Field(min_length=1, max_length=200, examples=["井盖松动"])
    description: str = Field(min_length=1, max_length=4000)
    community: str | None = Field(default=None, min_length=1, max_length=64)
    building: str | None = Field(default=None, min_length=1, max_length=32)
    unit: str | None = Field(default=None, min_length=1, max_length=32)
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    attributes: dict[AttrKey, AttrValue] = Field(default={}, max_length=30, description="the category's attributes")


class NoteIn(Body):
    """A status note: written, or a response template of the category (``template``: its index)."""

    note: str | None = Field(default=None, max_length=2000)
    template: int | None = Field(default=None, ge=0, le=99)


class AssignIn(NoteIn):
    """Assign to ``assignee`` or, without one, to the next on-duty member of the pool."""

    assignee: Person | None = None


class CloseIn(NoteIn):
    """Close without a fix: ``duplicate``, ``not_responsible`` or ``rejected``, with a note."""

    reason: str = Field(min_length=1, max_length=32)


class RateIn(Body):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)


class ReopenIn(Body):
    comment: str = Field(min_length=1, max_length=1000)


class CategoryIn(Body):
    """The fields of a category to set (the others stay as they are)."""

    name: str | None = Field(default=None, min_length=1, max_length=64)
    name_en: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    group: str | None = Field(default=None, max_length=64)
    keywords: str | None = Field(default=None, max_length=200)
    safety_critical: bool | None = None
    in_home: bool | None = Field(
        default=None, description="reports of it happen inside a home: public views show the community only"
    )
    response_hours: Hours | None = None
    resolution_hours: Hours | None = None
    pool: str | None = Field(default=None, max_length=64)
    supervisor: Person | None = None
    secretary: Person | None = None
    attributes: list[AttributeDef] | None = Field(default=None, max_length=30)
    templates: (
        dict[
            TemplateState,
            Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=500)]], Field(max_length=20)],
        ]
        | None
    ) = None
    active: bool | None = None


class DutyIn(Body):
    display_name: str = Field(default="", max_length=64)
    on_duty: bool = True
