"""Routers merged into one instead of included: a service's resources, the process's own routes.

FastAPI (0.16x) keeps an included router as a branch that is matched on every request: twice (to
select a route and again to handle it), each time walking its routes to see whether they changed.
With a service router including one router per resource, that nesting cost about a tenth of a small
request (docs/benchmarks.md, eighth session). A route's path, tags and dependencies are fixed when
it is added to its router, so moving the routes of a router that has no options of its own into
another one serves them exactly as an option-less ``include_router`` would.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter
from fastapi.routing import APIRoute


def merge_into(target: APIRouter, routers: Iterable[APIRouter]) -> APIRouter:
    """Add every route of ``routers`` to ``target``, in order; returns ``target``.

    Only plain routes move: a router with start-up hooks or a lifespan of its own, or one that includes
    another router, must be included instead (``ValueError``), since copying would drop what it adds.
    """
    for router in routers:
        if router.on_startup or router.on_shutdown or not all(isinstance(r, APIRoute) for r in router.routes):
            raise ValueError("only a router of plain API routes can be merged; include this one")
        target.routes.extend(router.routes)
    return target


def merged(routers: Iterable[APIRouter]) -> APIRouter:
    """One router holding the routes of ``routers`` (a service's resource routers)."""
    return merge_into(APIRouter(), routers)
