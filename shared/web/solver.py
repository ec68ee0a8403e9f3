"""Routes whose dependencies and parameters are solved by a plan made once per route.

FastAPI (0.165, the newest release) works out again on every request, for every parameter, what never
changes for a route: whether the field is a parameter model, its aliases, whether its annotation is a
sequence (twice), a deep copy of an absent parameter's default; it calls ``request_params_to_args`` four
times per dependant even with nothing to read and recurses once per sub-dependency (upstream
fastapi/fastapi#5562, #5554, #13974, #14291, #14441, none of it in a release). On a list of reports that
was about 28 % of the request (docs/benchmarks.md, tenth session).

:class:`PlannedRoute` asks FastAPI's own per-field helpers once, when the route is built, and keeps their
answers in a :class:`Plan`. At request time the plan only looks the values up, validates them with the
field's own validator and calls the dependencies in FastAPI's order (sub-dependencies first, then path,
query, header and cookie parameters), so the values and the errors are the ones FastAPI's solver gives.
The route then answers as FastAPI's handler would (:func:`_responder`: a returned ``Response`` as it is,
anything else validated and serialised by FastAPI's ``serialize_response`` against the response model,
with the status and headers set on the ``response`` parameter); a streamed answer keeps FastAPI's handler
around the plan. The helpers read here are private to FastAPI; tests/foundation/test_solver.py compares
the planned routes with FastAPI's request by request (status, body, every header, the dependencies' and
background tasks' runs), so an upgrade that changes them fails there.

What a plan does not cover keeps FastAPI's solver: a body or form, generator or sync dependencies,
security scopes, parameter models, a limited concurrency, a route included into another router (its
effective dependencies are the including router's as well); and every request while
``app.dependency_overrides`` is not empty, since overrides replace dependants per request.

A planned route also refuses a path outside its literal part before trying its regex
(:meth:`PlannedRoute.matches`): the app's router tries its routes one by one.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import params
from fastapi._compat import ModelField, field_annotation_is_sequence, get_missing_field_error
from fastapi.background import BackgroundTasks
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import _get_param_aliases, _get_param_model, _is_json_field
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, serialize_response
from fastapi.routing import _get_scope_effective_route_context as _route_context
from fastapi.utils import is_body_allowed_for_status_code
from starlette.datastructures import Headers, ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

__all__ = ["Plan", "PlannedRoute", "plan_of"]

_ATOMS = (type(None), bool, int, float, str, bytes)
"""Defaults that ``deepcopy`` returns as they are: no copy needed per request."""
_SOURCES = (("path_params", "path"), ("query_params", "query"), ("headers", "header"), ("cookies", "cookie"))
"""Where each kind of parameter is read from on a request, in the order FastAPI reads them."""


@dataclass(frozen=True, slots=True)
class _Param:
    """One path, query, header or cookie parameter, as ``request_params_to_args`` reads it."""

    field: ModelField
    name: str
    where: str  # "path", "query", "header", "cookie": the first item of an error's loc
    keys: tuple[str, ...]  # the request keys FastAPI tries, in its order
    listed: bool  # a sequence read with getlist (not for a Json field)
    sequence: bool  # an empty sequence counts as absent
    required: bool
    fixed_default: bool  # the default needs no copy and no factory
    validate_default: bool

    def read(self, source: Any, values: dict[str, Any]) -> tuple[Any, list[Any]]:
        key = self.keys[0]
        if len(self.keys) > 1:
            key = next((k for k in self.keys if k in source), key)
        if self.listed and isinstance(source, ImmutableMultiDict | Headers):
            value = source.getlist(key)
        else:
            value = source.get(key)
        if value is None or (self.sequence and len(value) == 0):
            if self.required:
                return None, [get_missing_field_error(loc=(self.where, key))]
            value = self.field.field_info.default if self.fixed_default else copy.deepcopy(self.field.default)
            if not self.validate_default:
                return value, []
        return self.field.validate(value, values, loc=(self.where, key))


@dataclass(frozen=True, slots=True)
class _Step:
    """A sub-dependency: its own plan, then its call (or its cached value)."""

    name: str | None
    call: Callable[..., Coroutine[Any, Any, Any]]
    plan: Plan
    key: tuple[Any, ...]  # FastAPI's cache key without scopes: a plan has none
    use_cache: bool


@dataclass(frozen=True, slots=True)
class Plan:
    """What solving one dependant takes, worked out once."""

    steps: tuple[_Step, ...]
    params: tuple[tuple[str, tuple[_Param, ...]], ...]  # (request attribute, its parameters), non-empty only
    request_names: tuple[str, ...]  # parameters given the request (``Request`` or ``HTTPConnection``)
    response_name: str | None
    tasks_name: str | None
    uses_tasks: bool  # this dependant or one below takes ``BackgroundTasks``

    async def solve(
        self, request: Request, response: Response, tasks: BackgroundTasks | None, cache: dict[Any, Any]
    ) -> tuple[dict[str, Any], list[Any]]:
        """The dependant's arguments and the validation errors, as ``solve_dependencies`` gives them."""
        values: dict[str, Any] = {}
        errors: list[Any] = []
        for step in self.steps:
            arguments, failed = await step.plan.solve(request, response, tasks, cache)
            if failed:
                errors.extend(failed)
                continue
            if step.use_cache and step.key in cache:
                solved = cache[step.key]
            else:
                solved = await step.call(**arguments)
            if step.name is not None:
                values[step.name] = solved
            if step.key not in cache:
                cache[step.key] = solved
        for attribute, fields in self.params:
            source = getattr(request, attribute)
            for param in fields:
                value, failed = param.read(source, values)
                if failed:
                    errors.extend(failed)
                else:
                    values[param.name] = value
        for name in self.request_names:
            values[name] = request
        if self.response_name is not None:
            values[self.response_name] = response
        if self.tasks_name is not None:
            values[self.tasks_name] = tasks
        return values, errors


def _is_async(call: Any) -> bool:
    """A coroutine function, or an instance whose ``__call__`` is one (``allow``, ``HTTPBearer``); not a class,
    a generator or a sync callable, which FastAPI runs differently."""
    if call is None or inspect.isclass(call):
        return False
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004


def _param(field: ModelField) -> _Param | None:
    info = field.field_info
    if not isinstance(info, params.Param) or _get_param_model(field) is not None:
        return None
    sequence = field_annotation_is_sequence(info.annotation)
    return _Param(
        field=field,
        name=field.name,
        where=info.in_.value,
        keys=tuple(key for _, key in _get_param_aliases(field)),
        listed=sequence and not _is_json_field(field),
        sequence=sequence,
        required=info.is_required(),
        fixed_default=info.default_factory is None and type(info.default) in _ATOMS,
        validate_default=bool(info.validate_default),
    )


def plan_of(dependant: Dependant) -> Plan | None:
    """The plan for ``dependant`` and everything below it, or ``None`` if any of it needs FastAPI's solver."""
    if (
        dependant.body_params
        or dependant.websocket_param_name
        or dependant.security_scopes_param_name
        or dependant.own_oauth_scopes
        or dependant.parent_oauth_scopes
    ):
        return None
    steps = []
    for sub in dependant.dependencies:
        inner = plan_of(sub) if sub.concurrency is None and _is_async(sub.call) else None
        if inner is None:
            return None
        steps.append(_Step(sub.name, sub.call, inner, (sub.call, sub.scope or ""), sub.use_cache))  # type: ignore[arg-type]
    found = []
    for attribute, where in _SOURCES:
        fields = getattr(dependant, f"{where}_params")
        planned = [_param(f) for f in fields]
        if any(p is None for p in planned):
            return None
        if planned:
            found.append((attribute, tuple(p for p in planned if p is not None)))
    names = (dependant.request_param_name, dependant.http_connection_param_name)
    return Plan(
        steps=tuple(steps),
        params=tuple(found),
        request_names=tuple(n for n in names if n is not None),
        response_name=dependant.response_param_name,
        tasks_name=dependant.background_tasks_param_name,
        uses_tasks=dependant.background_tasks_param_name is not None or any(s.plan.uses_tasks for s in steps),
    )


class PlannedRoute(APIRoute):
    """An API route whose dependencies and parameters a :class:`Plan` solves (FastAPI's solver otherwise).

    ``plan`` is ``None`` for a route the plan does not cover. The route's dependant, and so its OpenAPI
    operation and security schemes, stay as FastAPI built them.
    """

    plan: Plan | None = None
    _building = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._building = True  # only this route's own handler is planned, not one for an inclusion context
        try:
            super().__init__(*args, **kwargs)
        finally:
            self._building = False
        literal, _, _ = self.path_format.partition("{")
        self._literal = literal
        self._static = literal == self.path_format

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """As :class:`APIRoute` matches, but a path that does not begin with the route's literal part
        (the whole of it for a path without parameters) is refused at once instead of by the route's
        regex: the app's router asks every route in turn until one matches, ~3 µs each, so a request
        spent ~60 µs on the routes declared before its own (docs/benchmarks.md, eleventh session)."""
        if scope["type"] == "http" and not scope.get("root_path") and _route_context(scope) is None:
            path = scope["path"]
            if (path != self._literal) if self._static else not path.startswith(self._literal):
                return Match.NONE, {}
        return super().matches(scope)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        solver = super().get_route_handler()
        endpoint = self.dependant.call
        plan = plan_of(self.dependant) if self._building and _is_async(endpoint) else None
        if plan is None:
            return solver
        self.plan = plan

        assert endpoint is not None  # a planned route's endpoint is a coroutine function (_is_async)
        respond = _responder(self)
        if respond is None:  # a streamed answer: FastAPI's handler, around the plan
            return self._fastapi_handler_around(plan, endpoint, solver)
        provider = self.dependency_overrides_provider
        uses_tasks = plan.uses_tasks

        async def handler(request: Request) -> Response:
            if getattr(provider, "dependency_overrides", None):
                return await solver(request)
            response = Response()  # what the endpoint and its dependencies may set headers and a status on
            del response.headers["content-length"]
            response.status_code = None  # type: ignore[assignment]
            tasks = BackgroundTasks() if uses_tasks else None
            values, errors = await plan.solve(request, response, tasks, {})
            if errors:
                raise RequestValidationError(errors, body=None)
            return await respond(await endpoint(**values), response, tasks)

        return handler

    def _fastapi_handler_around(
        self, plan: Plan, endpoint: Callable[..., Any], solver: Callable[[Request], Coroutine[Any, Any, Response]]
    ) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        async def solve_and_call(
            request: Request, response: Response, background_tasks: BackgroundTasks | None = None
        ) -> Any:
            values, errors = await plan.solve(request, response, background_tasks, {})
            if errors:
                raise RequestValidationError(errors, body=None)
            return await endpoint(**values)

        shadow = copy.copy(self)
        shadow.dependant = Dependant(
            call=solve_and_call,
            request_param_name="request",
            response_param_name="response",
            background_tasks_param_name="background_tasks" if plan.uses_tasks else None,
            path=self.dependant.path,
        )
        planned = APIRoute.get_route_handler(shadow)
        provider = self.dependency_overrides_provider

        async def handler(request: Request) -> Response:
            if getattr(provider, "dependency_overrides", None):
                return await solver(request)
            return await planned(request)

        return handler


Respond = Callable[[Any, Response, BackgroundTasks | None], Coroutine[Any, Any, Response]]


def _responder(route: APIRoute) -> Respond | None:
    """What FastAPI's request handler does with what a coroutine endpoint returned, worked out once for
    ``route``: a ``Response`` goes out as it is (with the background tasks), anything else is validated
    and serialised against the response model (JSON bytes from pydantic-core when the route keeps the
    default response class), given the status and headers the endpoint set on its ``response``.

    ``None`` for a route whose answers stream (server-sent events, JSON lines): FastAPI builds those.
    Without this, a planned route still went through FastAPI's handler for a dependant of three
    parameters, whose solving read the query string, the cookies and the headers again and whose
    telemetry hooks ran although telemetry is off: ~10 % of a list of reports in a profile
    (docs/benchmarks.md, sixteenth session)."""
    if getattr(route, "is_sse_stream", False) or getattr(route, "is_json_stream", False):
        return None
    field = route.response_field
    response_class = route.response_class
    dump_json = field is not None and isinstance(response_class, DefaultPlaceholder)
    make: type[Response] = response_class.value if isinstance(response_class, DefaultPlaceholder) else response_class
    route_status = route.status_code
    options: dict[str, Any] = {
        "include": route.response_model_include,
        "exclude": route.response_model_exclude,
        "by_alias": route.response_model_by_alias,
        "exclude_unset": route.response_model_exclude_unset,
        "exclude_defaults": route.response_model_exclude_defaults,
        "exclude_none": route.response_model_exclude_none,
    }

    async def respond(raw: Any, sub: Response, tasks: BackgroundTasks | None) -> Response:
        if isinstance(raw, Response):
            if raw.background is None:
                raw.background = tasks
            return raw
        status = sub.status_code or route_status
        content = await serialize_response(field=field, response_content=raw, dump_json=dump_json, **options)
        args: dict[str, Any] = {"background": tasks} if status is None else {"background": tasks, "status_code": status}
        response = Response(content, media_type="application/json", **args) if dump_json else make(content, **args)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        response.headers.raw.extend(sub.headers.raw)
        return response

    return respond
