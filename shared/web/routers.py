"""Routers merged into one instead of included: a service's resources, the services, the process's routes.

FastAPI (0.16x) keeps an included router as a branch that is matched on every request: twice (to
select a route and again to handle it), each time walking its routes to see whether they changed.
With a service router including one router per resource, that nesting cost about a tenth of a small
request, and the app including each service's router under its prefix another 4 % of a list
(docs/benchmarks.md, eighth and ninth sessions). A route's path, tags and dependencies are fixed when
it is added to its router, so moving the routes of a router that has no options of its own into
another one serves them exactly as an option-less ``include_router`` would; :func:`mount` adds them
anew under a prefix, as ``include_router(prefix=..., tags=...)`` serves them, each as a
:class:`shared.web.solver.PlannedRoute` (its parameters solved by a plan made once; same interface).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

from fastapi import APIRouter
from fastapi.routing import APIRoute

from shared.web.solver import PlannedRoute


def merge_into(target: APIRouter, routers: Iterable[APIRouter]) -> APIRouter:
    """Add every route of ``routers`` to ``target``, in order; returns ``target``.

    Only plain routes move: a router with start-up hooks or a lifespan of its own, or one that includes
    another router, must be included instead (``ValueError``), since copying would drop what it adds.
    """
    for router in routers:
        _check(router)
        target.routes.extend(router.routes)
    return target


def mount(target: APIRouter, router: APIRouter, *, prefix: str = "", tags: Sequence[str] = ()) -> None:
    """Add every route of ``router`` to ``target`` under ``prefix``, ``tags`` first, as routes of ``target``.

    Each route is built again from what it was declared with (the attributes FastAPI's own inclusion
    carries over), so ``target``'s responses, tags and dependencies apply as they would to an included
    router, and the OpenAPI document stays the same. A plain :class:`APIRoute` becomes a
    :class:`PlannedRoute` (a route of another class keeps it). The same limits as :func:`merge_into` apply.
    """
    _check(router)
    for route in cast(list[APIRoute], router.routes):
        target.add_api_route(
            prefix + route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=[*tags, *route.tags],
            dependencies=route.dependencies,
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses=route.responses,
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            route_class_override=PlannedRoute if type(route) is APIRoute else type(route),
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
            max_body_size=route.max_body_size,
        )


def _check(router: APIRouter) -> None:
    if router.on_startup or router.on_shutdown or not all(isinstance(r, APIRoute) for r in router.routes):
        raise ValueError("only a router of plain API routes can be merged; include this one")


def merged(routers: Iterable[APIRouter]) -> APIRouter:
    """One router holding the routes of ``routers`` (a service's resource routers)."""
    return merge_into(APIRouter(), routers)
