"""A planned route (shared/web/solver.py) answers every request as FastAPI's own solver does, and is used.

The same routes are served twice, by plain ``APIRoute`` and by ``PlannedRoute``: each request below must get
the same status, body (FastAPI's full validation errors: type, loc, msg, input, ctx) and headers from both,
and the dependencies must have run the same number of times. The plan must also really replace FastAPI's
recursion (else it buys nothing) and give way to FastAPI where it does not apply.
"""

from __future__ import annotations

from typing import Annotated, Any
from unittest import mock

import pytest
from fastapi import APIRouter, BackgroundTasks, Cookie, Depends, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.routing import Match

from shared.web.pages import Paging
from shared.web.routers import mount
from shared.web.solver import PlannedRoute

_bearer = HTTPBearer(auto_error=False)


class Gate:
    """Like ``allow``: a class dependency with a bearer sub-dependency, 401 without it."""

    def __init__(self, role: str) -> None:
        self.role = role

    async def __call__(
        self, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> str:
        if credentials is None:
            raise HTTPException(401, "no token", headers={"WWW-Authenticate": "Bearer"})
        return f"{self.role}:{credentials.credentials}:{request.url.path}"


class Note(BaseModel):
    text: str


class Named(BaseModel):
    name: str
    note: str | None = None


SEEN: dict[str, list[Any]] = {"counted": [], "tasks": []}
"""What the dependencies did, cleared for each app."""


async def counted(n: Annotated[int, Query(ge=0)] = 0) -> int:
    SEEN["counted"].append(n)
    return n


async def twice(a: Annotated[int, Depends(counted)], b: Annotated[int, Depends(counted)]) -> int:
    return a + b  # cached: ``counted`` runs once


async def fresh(c: Annotated[int, Depends(counted, use_cache=False)]) -> int:
    return c


async def stamped(response: Response, tasks: BackgroundTasks, x_trace: Annotated[str | None, Header()] = None) -> None:
    response.headers["x-stamp"] = x_trace or "none"
    tasks.add_task(SEEN["tasks"].append, x_trace)


async def filters(
    kind: Annotated[str | None, Query(pattern=r"^(a|b)$")] = None,
    size: Annotated[int, Query(alias="page-size", ge=1, le=50)] = 10,
) -> dict[str, Any]:
    return {"kind": kind, "size": size}


def _app(route_class: type[APIRoute]) -> tuple[FastAPI, dict[str, list[Any]]]:
    """The routes under test, served by ``route_class``; also :data:`SEEN`, cleared."""
    for record in SEEN.values():
        record.clear()
    app = FastAPI()
    router = app.router  # the app's own routes: an included router's are served by FastAPI (last test)
    router.route_class = route_class

    @router.get("/items/{item_id}")
    async def item(
        item_id: Annotated[int, Path(ge=1)],
        who: Annotated[str, Depends(Gate("reader"))],
        page: Paging,
        found: Annotated[dict[str, Any], Depends(filters)],
        total: Annotated[int, Depends(twice)],
        again: Annotated[int, Depends(fresh)],
        need: int,
        tags: Annotated[list[str], Query()] = [],  # noqa: B006 - a mutable default FastAPI copies per request
        ids: Annotated[list[int] | None, Query()] = None,
        q: Annotated[str | None, Query(max_length=5)] = None,
        session: Annotated[str | None, Cookie()] = None,
        _: Annotated[None, Depends(stamped)] = None,
    ) -> dict[str, Any]:
        tags.append("seen")  # must not leak into the next request's default
        return {
            "item": item_id, "who": who, "page": [page.limit, page.cursor], "found": found, "total": total,
            "again": again, "need": need, "tags": tags, "ids": ids, "q": q, "session": session,
        }  # fmt: skip

    @router.get("/open", status_code=202)
    async def open_route(request: Request, response: Response) -> dict[str, str]:
        response.status_code = 203
        return {"path": request.url.path}

    @router.get("/named", response_model=Named, response_model_exclude_none=True, status_code=201)
    async def named(response: Response) -> Any:
        response.headers["x-stamp"] = "named"
        return {"name": "n", "note": None, "extra": 1}  # validated, the extra key dropped, None left out

    @router.get("/raw")
    async def raw(tasks: BackgroundTasks) -> Response:
        tasks.add_task(SEEN["tasks"].append, "raw")
        return Response("plain", media_type="text/plain")  # as it is, with the background tasks

    @router.delete("/gone", status_code=204)
    async def gone() -> None:
        return None  # no body for a 204

    @router.post("/notes")
    async def note(body: Note, who: Annotated[str, Depends(Gate("writer"))]) -> dict[str, str]:
        return {"text": body.text, "who": who}

    return app, SEEN


TOKEN = {"Authorization": "Bearer tok"}
CASES: list[tuple[str, str, dict[str, str], dict[str, str]]] = [  # (method, url, headers, cookies)
    ("GET", "/items/3?need=1", TOKEN, {}),
    ("GET", "/items/3?need=1&n=4&tags=x&tags=y&ids=1&ids=2&q=abc&kind=a&page-size=7&limit=5&cursor=abc", TOKEN, {}),
    ("GET", "/items/3?need=1", {**TOKEN, "x-trace": "t-1"}, {"session": "s1"}),
    ("GET", "/items/3?need=1&tags=", TOKEN, {}),  # an empty value is a value, not an absent list
    ("GET", "/items/0", TOKEN, {}),  # path below its minimum and a required query missing
    ("GET", "/items/x?need=y&n=-1&ids=z&q=toolong&kind=c&page-size=0&limit=0&cursor=%40", TOKEN, {}),  # all wrong
    ("GET", "/items/3?need=1&size=7", TOKEN, {}),  # the field name is not its alias: ignored
    ("GET", "/items/3?need=y", {}, {}),  # no token: the gate's 401 comes before parameter errors
    ("GET", "/items/3?need=1", {"Authorization": "Basic abc"}, {}),
    ("GET", "/open", {}, {}),
    ("GET", "/named", {}, {}),
    ("GET", "/raw", {}, {}),
    ("DELETE", "/gone", {}, {}),
    ("POST", "/notes", TOKEN, {}),
]


def _answers(app: FastAPI, seen: dict[str, list[Any]]) -> list[tuple[Any, ...]]:
    client = TestClient(app)
    answers = []
    for method, url, headers, cookies in CASES:
        client.cookies.clear()
        for name, value in cookies.items():
            client.cookies.set(name, value)
        kwargs: dict[str, Any] = {"json": {"text": "hi"}} if method == "POST" else {}
        r = client.request(method, url, headers=headers, **kwargs)
        kept = {k: v for k, v in r.headers.items() if k != "date"}
        answers.append((url, r.status_code, r.content, kept, list(seen["counted"]), list(seen["tasks"])))
    return answers


def test_a_planned_route_answers_every_request_as_fastapis_solver_does():
    expected = _answers(*_app(APIRoute))
    planned = _app(PlannedRoute)
    assert _route(planned[0], "/items/{item_id}").plan is not None  # type: ignore[attr-defined]
    got = _answers(*planned)
    for want, have in zip(expected, got, strict=True):
        assert have == want
    assert {a[1] for a in expected} >= {200, 201, 203, 204, 401, 422}  # the cases reach every outcome


def test_a_planned_route_is_documented_as_a_plain_one():
    assert _app(PlannedRoute)[0].openapi() == _app(APIRoute)[0].openapi()


def _route(app: FastAPI, path: str) -> APIRoute:
    (route,) = [r for r in app.router.routes if isinstance(r, APIRoute) and r.path == path]
    return route


def test_the_plan_replaces_fastapis_recursion_and_gives_way_where_it_does_not_apply():
    app, _ = _app(PlannedRoute)
    assert isinstance(_route(app, "/items/{item_id}"), PlannedRoute)
    assert _route(app, "/items/{item_id}").plan is not None  # type: ignore[attr-defined]
    assert _route(app, "/notes").plan is None  # type: ignore[attr-defined]  # a body: FastAPI's solver
    import fastapi.routing

    solve = fastapi.routing.solve_dependencies
    with mock.patch.object(fastapi.routing, "solve_dependencies", wraps=solve) as spy:
        client = TestClient(app)
        assert client.get("/items/3?need=1", headers=TOKEN).status_code == 200
        assert spy.call_args_list == []  # the plan solved it all, and the route answered without FastAPI's handler
        assert client.post("/notes", json={"text": "hi"}, headers=TOKEN).status_code == 200
        assert len(spy.call_args_list[-1].kwargs["dependant"].dependencies) == 1  # the gate, solved by FastAPI


def test_dependency_overrides_apply_to_a_planned_route():
    app, _ = _app(PlannedRoute)
    client = TestClient(app)
    assert client.get("/items/3?need=1").status_code == 401
    app.dependency_overrides[_bearer] = lambda: HTTPAuthorizationCredentials(scheme="Bearer", credentials="over")
    body = client.get("/items/3?need=1").json()
    assert body["who"] == "reader:over:/items/3"
    app.dependency_overrides.clear()
    assert client.get("/items/3?need=1").status_code == 401


def _needs_key(x_key: Annotated[str, Header()]) -> None:
    if x_key != "k":
        raise HTTPException(403)


def test_an_included_planned_route_keeps_the_including_routers_dependencies():
    inner = APIRouter(route_class=PlannedRoute)

    @inner.get("/thing")
    async def thing(n: int = 1) -> dict[str, int]:
        return {"n": n}

    app = FastAPI()
    app.include_router(inner, prefix="/guarded", dependencies=[Depends(_needs_key)])
    client = TestClient(app)
    assert client.get("/guarded/thing?n=2", headers={"x-key": "no"}).status_code == 403
    assert client.get("/guarded/thing?n=2", headers={"x-key": "k"}).json() == {"n": 2}


@pytest.mark.parametrize("route_class", [APIRoute, PlannedRoute])
def test_mount_serves_plain_routes_as_planned_ones(route_class):
    source = APIRouter(route_class=route_class)

    @source.get("/n")
    async def n(v: int = 0) -> dict[str, int]:
        return {"v": v}

    app = FastAPI()
    mount(app.router, source, prefix="/p")
    route = _route(app, "/p/n")
    assert isinstance(route, PlannedRoute) and route.plan is not None
    assert TestClient(app).get("/p/n?v=4").json() == {"v": 4}


def _matched(route: Any, scope: dict[str, Any]) -> tuple[Any, ...]:
    match, child = route.matches(dict(scope))
    return route.path, match, child.get("endpoint", print).__name__, child.get("path_params")


def test_a_planned_route_matches_the_paths_and_methods_a_plain_one_matches():
    routes = {cls: _app(cls)[0].router.routes for cls in (APIRoute, PlannedRoute)}
    paths = ["/items/3", "/items/", "/items", "/items/3/x", "/itemsx/3", "/open", "/open/", "/opener", "/notes", "/"]
    for path in paths:
        for method in ("GET", "POST"):
            for root in ("", "/app"):
                scope = {"type": "http", "path": root + path, "root_path": root, "method": method}
                want = [_matched(r, scope) for r in routes[APIRoute]]
                assert [_matched(r, scope) for r in routes[PlannedRoute]] == want, (method, root, path)
    for route in routes[PlannedRoute]:  # and a path outside a route's literal part never reaches its regex
        if isinstance(route, PlannedRoute):
            route.path_regex = mock.Mock(match=mock.Mock(side_effect=AssertionError(route.path)))
            assert route.matches({"type": "http", "path": "/elsewhere/1", "method": "GET"})[0] is Match.NONE
