"""A category's attribute definitions (Open311 service definition) and the check of a report's values."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
AttrCode = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
MAX_STRING = 200
MAX_TEXT = 2000
MAX_NUMBER = 1e12

Value = str | int | float | bool | list[str]


class AttributeValue(BaseModel):
    """One choice of a list attribute."""

    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class AttributeDef(BaseModel):
    """One attribute a report of the category carries (GeoReport v2 ``attributes``)."""

    model_config = ConfigDict(extra="forbid")

    code: AttrCode
    datatype: Datatype = "string"
    required: bool = False
    variable: bool = True
    description: Annotated[str, StringConstraints(max_length=300)] = ""
    datatype_description: Annotated[str, StringConstraints(max_length=300)] = ""
    order: Annotated[int, Field(ge=1, le=1000)] | None = None
    values: Annotated[list[AttributeValue], Field(max_length=50)] = []


class AttributeProblem(ValueError):
    """A report's attribute that does not fit the definitions; ``code`` says which rule it broke."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def check_attributes(definitions: list[AttributeDef], given: dict[str, Value]) -> dict[str, Value]:
    """The values of ``given`` checked against ``definitions`` (type, allowed keys, length): unknown
    attributes are refused, required ones must be there; raises :class:`AttributeProblem`."""
    known = {d.code: d for d in definitions}
    unknown = set(given) - set(known)
    if unknown:  # not named: a client's keys are not echoed
        raise AttributeProblem(
            f"该类别没有 {len(unknown)} 个所给的附加项 / {len(unknown)} attributes are not the category's "
            f"(it has: {', '.join(known) or '-'})",
            "unknown_attribute",
        )
    clean: dict[str, Value] = {}
    for d in definitions:
        value = given.get(d.code)
        if value is None or value in ("", []):
            if d.required:
                label = d.description or d.code
                raise AttributeProblem(f"缺少必填项 {label} / attribute {d.code} is required", "attribute_required")
            continue
        clean[d.code] = _checked(d, value)
    return clean


def _checked(d: AttributeDef, value: Value) -> Value:
    keys = [v.key for v in d.values]

    def bad(why: str) -> AttributeProblem:
        return AttributeProblem(f"{d.code} 取值无效 / attribute {d.code} {why}", "attribute_invalid")

    if d.datatype in ("string", "text"):
        limit = MAX_STRING if d.datatype == "string" else MAX_TEXT
        if not isinstance(value, str):
            raise bad("must be text")
        if len(value) > limit:
            raise bad(f"is longer than {limit} characters")
        return value
    if d.datatype == "number":
        if isinstance(value, bool | list):
            raise bad("must be a number")
        try:
            number = float(value)
        except ValueError:
            raise bad("must be a number") from None
        if not math.isfinite(number) or abs(number) > MAX_NUMBER:
            raise bad("is out of range")
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if d.datatype == "datetime":
        if not isinstance(value, str) or len(value) > 40:
            raise bad("must be an ISO 8601 date and time")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise bad("must be an ISO 8601 date and time") from None
        if not 2000 <= moment.year <= 2099:
            raise bad("must lie between 2000 and 2099")
        return moment.isoformat()
    if d.datatype == "singlevaluelist":
        if isinstance(value, bool | list) or str(value) not in keys:
            raise bad(f"must be one of {', '.join(keys)}")
        return str(value)
    chosen = value.split(",") if isinstance(value, str) else value  # multivaluelist
    if not isinstance(chosen, list) or not all(isinstance(c, str) and c in keys for c in chosen):
        raise bad(f"must be some of {', '.join(keys)}")
    return list(dict.fromkeys(chosen))
