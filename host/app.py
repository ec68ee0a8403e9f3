"""The HTTP app of a process: each service under ``/api/<name>``, health, readiness, metrics, docs.

Every edge rule that holds for all services is installed here once: body limits, problem+json
errors for every status, request metrics, ``Idempotency-Key`` replay and the CORS allow-list.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict

from host.specs import asyncapi_document
from shared import tracing
from shared.observability import HttpMetricsMiddleware
from shared.web import problems
from shared.web.auth import public
from shared.web.cors import Cors
from shared.web.idempotency import Idempotency
from shared.web.limits import BodyLimits
from shared.web.routers import merge_into, mount

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from host.runtime import Runtime

_public = Depends(public())


class Health(BaseModel):
    status: str


class AsyncApiDocument(BaseModel):
    """An AsyncAPI 3.0 document (its channels and operations as FastStream writes them)."""

    model_config = ConfigDict(extra="allow")
    asyncapi: str
    info: dict[str, Any]
    channels: dict[str, Any] = {}


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


def build_app(runtime: Runtime) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not runtime.started:
            await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    names = ", ".join(m.name for m in runtime.modules)
    app = FastAPI(
        title=f"Linli 邻里 ({names})",
        version="0.1.0",
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
        # Linli traces and counts requests itself (shared/tracing.py, shared/observability.py); FastAPI's own
        # telemetry, when on, asks on every request whether OpenTelemetry providers are configured (~4 % of
        # a list of reports in a profile; docs/benchmarks.md, eleventh session)
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.runtime = runtime
    problems.install(app)
    merge_into(app.router, [_ops_router(runtime)])  # merged, not included: see shared/web/routers.py
    own = len(app.router.routes)
    for ctx in runtime.contexts.values():
        if ctx.module.router is not None:
            mount(app.router, ctx.module.router(ctx), prefix=f"/api/{ctx.name}", tags=[ctx.name])
        if ctx.module.root_router is not None:
            mount(app.router, ctx.module.root_router(ctx))
    for extra in runtime.extra_routers:  # e.g. the operators' console, added by the composition root
        app.include_router(extra(runtime))
    # the services' routes first: the router tries each route in turn, and a service's request spent
    # ~3 µs on each of the process's own (docs, health, metrics) declared before them (docs/benchmarks.md)
    routes = app.router.routes
    routes[:] = routes[own:] + routes[:own]
    # innermost first: a retried POST is answered from Redis after its body passed the limits; CORS wraps
    # everything, so a preflight is answered at once and every answer (errors too) carries its headers
    settings = runtime.settings
    app.add_middleware(
        Idempotency,
        redis=runtime.redis,
        prefix=settings.stream_prefix,
        settings=settings,
        ttl_s=settings.idempotency_ttl_s,
    )
    app.add_middleware(BodyLimits)
    if settings.cors_origins:
        app.add_middleware(Cors, origins=settings.cors_origins)
    app.add_middleware(HttpMetricsMiddleware)
    tracing.instrument_app(app)  # outermost: a request's span covers everything above (only when tracing)
    return app


def _ops_router(runtime: Runtime) -> APIRouter:
    # the app's problem responses are its included routers' defaults; these routes are merged (own them)
    ops = APIRouter(tags=["ops"], dependencies=[_public], responses=problems.PROBLEM_RESPONSES)

    @ops.get("/healthz")
    async def healthz() -> Health:
        return Health(status="ok")

    @ops.get("/readyz", responses={503: {"model": Readiness}})
    async def readyz() -> Readiness:
        ok, checks = await runtime.readiness()
        body = Readiness(status="ready" if ok else "not ready", checks={k: str(v) for k, v in checks.items()})
        if ok:
            return body
        return JSONResponse(body.model_dump(), status_code=503)  # type: ignore[return-value]

    @ops.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
    async def metrics() -> Response:
        await asyncio.to_thread(runtime.collect_outbox_metrics)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @ops.get("/asyncapi")
    async def asyncapi() -> AsyncApiDocument:
        """AsyncAPI 3.0 of the streams this process publishes and consumes."""
        return AsyncApiDocument.model_validate(asyncapi_document(runtime))

    return ops
