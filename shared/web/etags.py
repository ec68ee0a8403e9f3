"""``ETag`` / ``If-Match`` on mutable resources: a client that edits what it saw cannot overwrite a change it missed.

Two staff edit one category, a resident changes her quiet hours on the phone and the tablet: without a check
the second save silently undoes the first. A GET answers the resource's ``ETag``; a write (PUT/PATCH) that sends
``If-Match`` with that tag goes through only while the resource is still in that state, otherwise it is refused
with 412 ``precondition_failed`` and the client fetches the resource again. A write without ``If-Match`` behaves
as before (docs/api.md says why).

**Strong tags of the stored state.** A tag is a keyed hash (HMAC-SHA256 with ``LINLI_PII_KEY``) of the stored
rows that make up the resource, not of the answer's bytes:

- ``If-Match`` compares tags with the strong function (RFC 9110 §13.1.1): a weak ``W/"…"`` tag never matches,
  so weak tags would make every conditional write fail;
- the same state gives the same tag in every process and for every caller (a resident's and a staff member's
  views of one elder differ, the stored elder does not), and a view's parts computed from the clock (an elder's
  upcoming visits) do not make a tag stale when nothing was changed;
- keyed, so a tag over rows that hold personal data (an elder's health notes) confirms no guess about them.

The check and the write happen in one transaction; on PostgreSQL a transaction-scoped advisory lock per
resource makes the check-then-write of concurrent writers take turns (on SQLite the write lock already does).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Header, Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session

from shared.config import get_settings
from shared.errors import DomainError
from shared.web.problems import PROBLEM_JSON, Problem

V = TypeVar("V")

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=1024,
        description="Write only if the resource still has this ETag (from its GET); `*`: only if it exists. "
        "Without it the write goes through as before.",
        examples=['"3f1c2a9b7d0e4f5a8b6c1d2e3f4a5b6c"'],
    ),
]
"""The ``If-Match`` header of a conditional write (bounded, like every input)."""

RESPONSES: dict[int | str, dict[str, Any]] = {
    412: {
        "model": Problem,
        "content": {PROBLEM_JSON: {}},
        "description": "Precondition failed: the resource changed since its ETag was read (`precondition_failed`)",
    }
}
"""What a conditional route adds to its OpenAPI responses."""

STALE = "资源已被他人修改，请重新获取后再提交 / the resource changed since you read it: fetch it again"


class PreconditionFailed(DomainError):
    """``If-Match`` names a state the resource is no longer in (412)."""

    status = 412
    code = "precondition_failed"


def _key() -> bytes:
    return hashlib.sha256(b"linli-etag\0" + get_settings().pii_key.encode()).digest()


def _plain(value: Any) -> Any:
    """A stored value in one form whatever the driver returned (SQLite's naive times are UTC)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return str(value)


def tag(*parts: BaseModel | Iterable[BaseModel] | None, ignore: frozenset[str] = frozenset()) -> str:
    """The strong ETag of stored rows (``None``: the resource does not exist, or holds only defaults);
    ``ignore``: columns a job moves on its own, which are no edit of the resource."""
    mac = hmac.new(_key(), digestmod=hashlib.sha256)
    for part in parts:
        rows = [part] if part is None or isinstance(part, BaseModel) else list(part)
        for row in rows:
            data = None if row is None else [type(row).__name__, row.model_dump(mode="python", exclude=set(ignore))]
            mac.update(json.dumps(data, sort_keys=True, default=_plain, ensure_ascii=False).encode())
            mac.update(b"\0")
        mac.update(b"\1")
    return f'"{mac.hexdigest()[:32]}"'


def stored_tag(
    session: Session, *parts: BaseModel | Iterable[BaseModel] | None, ignore: frozenset[str] = frozenset()
) -> str:
    """The tag of rows just written, as a later read will compute it (flushed and read back)."""
    session.flush()
    for part in parts:
        for row in [part] if part is None or isinstance(part, BaseModel) else list(part):
            if row is not None:
                session.refresh(row)
    return tag(*parts, ignore=ignore)


def matches(if_match: str, current: str, exists: bool = True) -> bool:
    """RFC 9110 §13.1.1: ``*`` matches any existing resource, otherwise one listed tag strongly equal."""
    listed = [t.strip() for t in if_match.split(",") if t.strip()]
    if "*" in listed:
        return exists
    return current in listed  # a weak W/"…" never equals a strong tag


Rows = BaseModel | Iterable[BaseModel] | None


def guard(
    session: Session,
    resource: str,
    if_match: str | None,
    load: Callable[[], Rows],
    *,
    ignore: frozenset[str] = frozenset(),
) -> None:
    """Refuse the write with 412 unless ``If-Match`` names the tag of the rows ``load`` reads now (no header:
    no check; ``load`` returning ``None``: the resource does not exist, which only ``*`` cares about).

    ``resource`` names the resource (``"tickets:category:manhole"``): on PostgreSQL writers of one resource take
    turns on it until their transactions end, so two conditional writes of the same state cannot both pass.
    Call it after the caller's scope was checked, so a stale tag never tells a stranger the resource exists.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"linli-etag:{resource}"})
    if if_match is None:
        return
    rows = load()
    if not matches(if_match, tag(rows, ignore=ignore), exists=rows is not None):
        raise PreconditionFailed(STALE)


def answer(response: Response, tagged: tuple[V, str]) -> V:
    """Return a route's view with its ``ETag`` header (the unit of work returned ``(view, tag)``)."""
    view, etag = tagged
    response.headers["ETag"] = etag
    return view
