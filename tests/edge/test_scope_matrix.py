"""The scope matrix: every route × role × in-scope / out-of-scope caller, generated from the routes.

Generated from the route declarations of every service in ``host/catalog.py`` (issue 15, item 1):

(a) every role a route admits declares its scope kind (``allow(staff="community")``); a new route
    with a role given positionally fails here;
(b) every role a route does not admit gets 403;
(c) for each admitted role with a narrowing scope, the service's case (``tests/edge/scope_cases/``)
    is run as an out-of-scope caller (403/404, or no in-scope marker in the answer) and then as an
    in-scope caller (success). Routes of services without a case module are listed as xfail.

(b) and (c) run against the edge's real ``linli run`` (every service, demo data loaded).
"""

from __future__ import annotations

import re
import tempfile
from functools import cache
from importlib import import_module
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.routing import APIRoute

from host import catalog
from shared.identity import ROLES
from shared.web.auth import route_scopes
from tests.edge.scope_cases import Api, Call, World

NARROWING = {"community", "team", "pairing", "household", "self", "institution"}
"""Scope kinds with an out-of-scope caller (``all`` reaches everything of its kind)."""


@cache
def _routes() -> list[tuple[str, str, str, dict[str, str | None]]]:
    """``(service, method, path, scopes)`` of every API route of the catalog's services."""
    from host.runtime import Runtime
    from shared.config import Settings

    runtime = Runtime(catalog.load(["all"]), settings=Settings(var_dir=Path(tempfile.mkdtemp(prefix="scope-"))))
    found = []

    def walk(routes, prefix=""):
        for route in routes:
            original = getattr(route, "original_router", None)
            if original is not None:
                yield from walk(original.routes, prefix + route.include_context.prefix)
            elif isinstance(route, APIRoute):
                yield route, prefix + route.path

    for route, path in walk(runtime.build_app().routes):
        module = route.endpoint.__module__
        if not module.startswith("services."):
            continue
        scopes = route_scopes(route)
        for method in sorted(route.methods or ()):
            found.append((module.split(".")[1], method, path, dict(scopes or {})))
    return found


@cache
def _cases(service: str) -> ModuleType | None:
    try:
        return import_module(f"tests.edge.scope_cases.{service}")
    except ModuleNotFoundError as exc:
        if exc.name == f"tests.edge.scope_cases.{service}":
            return None
        raise


def _mark(service: str, run: bool = False) -> list[pytest.MarkDecorator]:
    """Routes of a service without a case module are listed as xfail (run, when cheap, to show progress)."""
    if _cases(service) is None:
        return [pytest.mark.xfail(reason=f"no tests/edge/scope_cases/{service}.py yet", run=run, strict=False)]
    return []


def _declared():
    for service, method, path, scopes in _routes():
        for role, kind in sorted(scopes.items()):
            yield pytest.param(
                service, method, path, role, kind, id=f"{method} {path} [{role}]", marks=_mark(service, run=True)
            )


def _refused():
    for _service, method, path, scopes in _routes():
        if not scopes:  # public routes admit everyone
            continue
        for role in ROLES:
            if role not in scopes:
                yield pytest.param(method, path, role, id=f"{method} {path} [{role}]")


def _scoped():
    for service, method, path, scopes in _routes():
        for role, kind in sorted(scopes.items()):
            if kind is None or kind in NARROWING:
                yield pytest.param(service, method, path, role, id=f"{method} {path} [{role}]", marks=_mark(service))


# -- (a) every admitted role declares its scope ---------------------------------------------------


@pytest.mark.parametrize(("service", "method", "path", "role", "kind"), list(_declared()))
def test_every_admitted_role_declares_its_scope(service, method, path, role, kind):
    assert kind is not None, (
        f"{method} {path} admits {role!r} without a scope: declare it, e.g. allow({role}='community')"
    )


def test_the_matrix_sees_every_service():
    services = {service for service, *_ in _routes()}
    assert services == set(catalog.available()), services


# -- (b) roles not admitted are refused -----------------------------------------------------------


@pytest.fixture(scope="session")
def api(linli_all) -> Api:
    return Api(linli_all.url)


def _filled(path: str) -> str:
    """The path with every ``{param}`` set to a value no record has (the role check comes first)."""
    return re.sub(r"\{[^}]+\}", "scope-none", path)


@pytest.mark.parametrize(("method", "path", "role"), list(_refused()))
def test_a_role_not_admitted_gets_403(api, method, path, role):
    headers = api.headers(f"{role}:scope-refused", role, communities=["*"], team="t-any", household="h-any")
    answer = api.client.request(method, _filled(path), headers=headers)
    assert answer.status_code == 403, f"{role} on {method} {path}: {answer.status_code} {answer.text[:200]}"


# -- (c) in scope succeeds, out of scope sees nothing of it ---------------------------------------

_WORLDS: dict[str, World] = {}


def _world(api: Api, service: str) -> World:
    if service not in _WORLDS:
        _WORLDS[service] = _cases(service).seed(api)  # type: ignore[union-attr]
    return _WORLDS[service]


def _case(service: str, method: str, path: str, role: str):
    module = _cases(service)
    for case in module.CASES:  # type: ignore[union-attr]
        if (case.method, case.path, case.role) == (method, path, role):
            return case
    pytest.fail(f"no case for {method} {path} as {role} in tests/edge/scope_cases/{service}.py")


@pytest.mark.parametrize(("service", "method", "path", "role"), list(_scoped()))
def test_in_scope_succeeds_and_out_of_scope_sees_nothing(api, service, method, path, role):
    case = _case(service, method, path, role)
    world = _world(api, service)
    call: Call = case.call(api, world)

    hidden = case.hidden(world) if case.hidden else world.markers["a"]
    outsider = case.outside(world) if case.outside else world.caller(role, "b")
    insider = case.inside(world) if case.inside else world.caller(role, "a")

    status, text = _answer(api, case, outsider, call)
    assert status < 500, text[:300]
    if status not in (403, 404):
        assert status < 300, f"out of scope: {status} {text[:300]}"
        leaked = [m for m in hidden if m in text]
        assert not leaked, f"{role} out of scope sees {leaked} on {method} {path}"

    status, text = _answer(api, case, insider, call)
    assert status in case.ok, f"in scope: {status} {text[:300]}"


def _answer(api: Api, case, headers: dict[str, str], call: Call) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    if case.stream:
        return api.stream(case.path, headers, call)
    answer = api.request(case.method, case.path, headers, call)
    return answer.status_code, answer.text
