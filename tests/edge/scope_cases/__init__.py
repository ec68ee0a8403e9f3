"""Scope cases: per service, how to seed two sides through the real API and call each route as both.

``tests/edge/test_scope_matrix.py`` reads every route of every service in ``host/catalog.py`` and, for
each role a route admits with a narrowing scope (``community``, ``team``, ``pairing``, ``household``,
``self``, ``institution``; not ``all``), runs the service's case for that route and role twice:

1. as the **out-of-scope** caller (side ``"b"``): the answer must be 403 or 404, or a 2xx whose body
   holds none of side ``"a"``'s private markers (a list without the in-scope records, an
   anonymised view);
2. then as the **in-scope** caller (side ``"a"``): the answer must be one of ``Case.ok``.

The out-of-scope call goes first, so a command that wrongly succeeds for it is caught before the
in-scope call changes the record.

A service's case module is ``tests/edge/scope_cases/<service>.py`` (the catalog's name) and holds:

``seed(api: Api) -> World``
    Called once per test session against the running ``linli run`` (demo data loaded). Create the
    records of two communities (or teams, households …) through the real HTTP API, using
    :meth:`Api.headers` for tokens; use :func:`unique` so that markers and ids never collide with
    the demo data or another run. Return a :class:`World` with ``ids`` (whatever the cases need),
    ``markers["a"]`` (strings only an entitled caller may see: a unit number, a phone, a note) and
    ``callers[(role, side)]`` (the headers of the in-scope ``"a"`` and out-of-scope ``"b"`` caller
    of each role). Wait for consumers with :meth:`Api.eventually` when a record is made by an event.

``CASES: list[Case]``
    One :class:`Case` per (route, role): ``Case("POST", "/api/tickets/tickets/{ticket_id}/close",
    "staff", call)``, where ``call(api, world) -> Call`` gives the path parameters, query, JSON body
    or files. ``call`` may create a fresh record first (through ``api``) when the in-scope call
    would use one up (closing a ticket twice fails). ``shape="list"`` documents a list route (the
    rule is the same: no side-``a`` marker for the out-of-scope caller). ``hidden=lambda w: [...]``
    names what this case's out-of-scope answer must not contain when it differs from the markers
    (a list must not hold side ``a``'s ids, which a public view may show); ``inside`` / ``outside``
    give other callers than ``World.callers`` for one case; ``stream=True`` marks a server-sent events
    route (its answer is what arrives within :data:`STREAM_SECONDS`).

A route × role of a service with a case module but without a case fails the matrix (a new route
must come with its case); services without a case module are listed as ``xfail``.

Keep the module small and readable: one seed, one list of cases, helpers for repeated bodies.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from shared.web.auth import mint_token

Side = Literal["a", "b"]


def unique(label: str) -> str:
    """``label`` with a short random tail (``scope-a-3f9a0c``): markers and codes of one run."""
    return f"{label}-{uuid.uuid4().hex[:6]}"


@dataclass
class Call:
    """One request: ``params`` fill the path's ``{names}``."""

    params: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    data: dict[str, str] | None = None


@dataclass
class World:
    """What a service's ``seed`` made: ids, side ``a``'s private markers, and each role's callers."""

    ids: dict[str, Any] = field(default_factory=dict)
    markers: dict[str, list[str]] = field(default_factory=lambda: {"a": [], "b": []})
    callers: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def caller(self, role: str, side: Side) -> dict[str, str]:
        try:
            return self.callers[(role, side)]
        except KeyError:
            raise AssertionError(f"the seed gave no {side!r} caller for role {role!r}") from None


@dataclass(frozen=True)
class Case:
    """One route × role. ``hidden`` overrides ``World.markers["a"]`` for this case (a list's ids);
    ``inside`` / ``outside`` override the callers (following a report: a neighbour, not its reporter)."""

    method: str
    path: str
    role: str
    call: Callable[[Api, World], Call]
    shape: Literal["record", "list"] = "record"
    ok: tuple[int, ...] = (200, 201, 204)
    hidden: Callable[[World], list[str]] | None = None
    inside: Callable[[World], dict[str, str]] | None = None
    outside: Callable[[World], dict[str, str]] | None = None
    stream: bool = False
    """A server-sent events route: read for :data:`STREAM_SECONDS`, then hang up."""


STREAM_SECONDS = 2.0


class Api:
    """A synchronous client of the running ``linli run`` with token helpers."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=20)

    @staticmethod
    def headers(sub: str, *roles: str, **claims: Any) -> dict[str, str]:
        """A bearer header (claims as :func:`shared.web.auth.mint_token`: ``communities=[...]``, ``team=``)."""
        return {"Authorization": f"Bearer {mint_token(sub, roles, **claims)}"}

    def request(self, method: str, path: str, headers: dict[str, str], call: Call | None = None) -> httpx.Response:
        call = call or Call()
        return self.client.request(
            method,
            path.format(**call.params),
            headers=headers,
            params=call.query or None,
            json=call.json,
            files=call.files,
            data=call.data,
        )

    def stream(self, path: str, headers: dict[str, str], call: Call | None = None) -> tuple[int, str]:
        """A streaming GET read for :data:`STREAM_SECONDS`: its status and the text that arrived."""
        call = call or Call()
        timeout = httpx.Timeout(20, read=STREAM_SECONDS)
        chunks: list[str] = []
        deadline = time.monotonic() + STREAM_SECONDS
        with self.client.stream(
            "GET", path.format(**call.params), headers=headers, params=call.query or None, timeout=timeout
        ) as answer:
            try:
                for chunk in answer.iter_text():
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        break
            except httpx.ReadTimeout:
                pass
            return answer.status_code, "".join(chunks)

    def ok(self, method: str, path: str, headers: dict[str, str], call: Call | None = None) -> Any:
        """:meth:`request` that must succeed (seeding); the JSON answer."""
        answer = self.request(method, path, headers, call)
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text[:300]}"
        return answer.json() if answer.content else None

    @staticmethod
    def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Poll ``check`` until truthy (records made by consumers)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(0.1)
        raise AssertionError(f"seed condition not met within {timeout}s (last: {last!r})")


def export_cases(base: str, roles: tuple[str, ...] = ("resident", "volunteer")) -> list[Case]:
    """``GET <base>/me/export`` (a person's own data) for each role: a fresh account outside (its export holds
    nothing of side ``a``), side ``a``'s caller inside (a fresh one where the seed gave none)."""

    def fresh(role: str) -> Callable[[World], dict[str, str]]:
        return lambda world: Api.headers(f"{role}:{unique('export')}", role)

    def own(role: str) -> Callable[[World], dict[str, str]]:
        return lambda world: world.callers.get((role, "a")) or fresh(role)(world)

    return [
        Case("GET", base + "/me/export", role, lambda api, world: Call(), outside=fresh(role), inside=own(role))
        for role in roles
    ]


__all__ = ["Api", "Call", "Case", "Side", "World", "export_cases", "unique"]
