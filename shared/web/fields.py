"""Bounded types for the edge: every value a client sends has a type with limits from here.

Request bodies derive from :class:`Body` (unknown fields refused, numbers finite); responses from
:class:`View`. Path and query parameters use the aliases below, so that a 100-digit id, the year 1
or a thirteenth month is refused with a 422 before a use case sees it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

MIN_DAY = date(2000, 1, 1)
MAX_DAY = date(2099, 12, 31)
INT32 = 2**31 - 1
INT64 = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Body(BaseModel):
    """A request body: unknown fields refused, numbers finite (``1e400`` is infinity), no control characters."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=10_000)

    @model_validator(mode="before")
    @classmethod
    def _no_control_characters(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for value in data.values():
                if isinstance(value, str) and _CONTROL.search(value):
                    raise ValueError("含有控制字符 / contains control characters")
        return data


class View(BaseModel):
    """A response body, built from ORM rows or dicts."""

    model_config = ConfigDict(from_attributes=True)


def _sane_day(value: date) -> date:
    if not MIN_DAY <= value <= MAX_DAY:
        raise ValueError("日期应在 2000 至 2099 年之间 / the date must lie between 2000 and 2099")
    return value


def _sane_moment(value: datetime) -> datetime:
    """The moment in UTC: stores keep UTC, and SQLite drops an offset, so ``15:00+08:00`` stored as given would
    read back as 15:00 UTC (eight hours late)."""
    _sane_day(value.date())
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _real_month(value: str) -> str:
    year, month = int(value[:4]), int(value[5:])
    if not 1 <= month <= 12 or not MIN_DAY.year <= year <= MAX_DAY.year:
        raise ValueError("月份应为 YYYY-MM / the month must be YYYY-MM")
    return value


Day = Annotated[date, AfterValidator(_sane_day)]
"""A calendar date between 2000 and 2099 (dates further out overflow the clock's arithmetic)."""
Moment = Annotated[datetime, AfterValidator(_sane_moment)]
"""A point in time between 2000 and 2099, given back in UTC; without a zone it is taken as UTC."""
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}$"), AfterValidator(_real_month)]
"""A calendar month ``YYYY-MM`` whose month is 01-12."""

Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
"""An identifier a client names things by (category codes, barcodes, ids): no spaces, 64 at most."""
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
"""A person's or a thing's name."""
ShortText = Annotated[str, StringConstraints(max_length=300)]
Text = Annotated[str, StringConstraints(max_length=4000)]
Count = Annotated[int, Field(ge=0, le=INT32)]
Positive = Annotated[int, Field(ge=1, le=INT32)]

PathCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
"""A path segment naming a thing by code or id."""
PathInt = Annotated[int, Path(ge=1, le=INT64)]
"""A numeric path id: positive and within 64 bits (the database's integer)."""
QueryCode = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
"""An optional filter naming a thing by code or id."""
QueryText = Annotated[str | None, Query(max_length=200), AfterValidator(lambda v: v if v is None else printable(v))]


def printable(value: str) -> str:
    """Refuse control characters (NUL breaks PostgreSQL text, others break logs and terminals)."""
    if _CONTROL.search(value):
        raise ValueError("含有控制字符 / contains control characters")
    return value
