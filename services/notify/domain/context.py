"""What a template sees: the event's fields plus place, local times and the recipient's name (no I/O)."""

from __future__ import annotations

import types
import typing
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from pydantic import BaseModel

from shared.clock import local

SAMPLE_TIME = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def place(data: dict[str, Any]) -> str:
    """``明珠花苑 3号楼 2单元`` from community/building/unit (empty when none is known)."""
    parts = [
        data.get("community"),
        data.get("building") and f"{data['building']}号楼",
        data.get("unit") and f"{data['unit']}单元",
    ]
    return " ".join(p for p in parts if p)


def template_context(model: type[BaseModel], data: dict[str, Any], *, tz: str, recipient_name: str) -> dict[str, Any]:
    """Every field of ``model`` (None when absent), ``<field>_local`` for datetimes, ``place``, ``recipient_name``."""
    names, local_names, datetimes = _fields(model)
    ctx: dict[str, Any] = {name: data.get(name) for name in names}
    ctx.update(dict.fromkeys(local_names))
    for name, local_name in zip(names, local_names, strict=True):
        value = ctx[name]
        if isinstance(value, str) and name in datetimes:
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime):
            ctx[local_name] = local(value, tz).strftime("%Y-%m-%d %H:%M")
    ctx["place"] = place(data)
    ctx["recipient_name"] = recipient_name
    return ctx


@cache
def _fields(model: type[BaseModel]) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
    """The field names of ``model``, their ``_local`` names and those that may hold a datetime (once per model)."""
    names = tuple(model.model_fields)
    return names, tuple(f"{name}_local" for name in names), frozenset(n for n in names if _is_datetime(model, n))


def sample_data(model: type[BaseModel]) -> dict[str, Any]:
    """A value for every field of ``model`` (by annotation) to render templates with at load time."""
    return {name: _sample(field.annotation, name) for name, field in model.model_fields.items()}


def _is_datetime(model: type[BaseModel], name: str) -> bool:
    return datetime in _leaf_types(model.model_fields[name].annotation)


def _leaf_types(annotation: Any) -> set[Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return {t for arg in typing.get_args(annotation) for t in _leaf_types(arg)}
    return {annotation}


def _sample(annotation: Any, name: str) -> Any:
    leaves = _leaf_types(annotation) - {type(None)}
    leaf = next(iter(leaves)) if leaves else str
    origin = typing.get_origin(leaf)
    if origin in (list, tuple, set):
        return [f"{name}-1", f"{name}-2"]
    if leaf is bool:
        return True
    if leaf is int:
        return 2
    if leaf is float:
        return 1.5
    if leaf in (datetime, date):
        return SAMPLE_TIME
    return f"{name}-x"
