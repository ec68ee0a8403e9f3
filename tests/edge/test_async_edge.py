"""Every route and every dependency it solves is ``async``.

FastAPI runs a plain ``def`` endpoint or dependency (a function, or a class whose ``__call__`` or
``__init__`` is sync) in a worker thread: a thread hop per request, which made a resident's list of
tickets take twice as long as it needed (docs/benchmarks.md). Blocking work belongs in the route
runner (``await run(...)``), which decides where it runs.
"""

from __future__ import annotations

import inspect

from fastapi.routing import APIRoute


def _callables(dependant):
    stack = [dependant]
    while stack:
        dep = stack.pop()
        if dep.call is not None:
            yield dep.call
        stack.extend(dep.dependencies)


def _is_async(call) -> bool:
    if inspect.isclass(call):
        return False  # its __init__ is what FastAPI calls: always sync
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    method = getattr(call, "__call__", None)  # noqa: B004 - an instance used as a dependency
    return method is not None and (inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method))


def _routes(routes):
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from _routes(original.routes)
        elif isinstance(route, APIRoute):
            yield route


def test_no_route_or_dependency_runs_in_a_worker_thread():
    from host.docs import _documented
    from ops.console import build_console_router

    with _documented() as runtime:
        runtime.extra_routers.append(build_console_router)  # as ``linli run`` mounts it
        app = runtime.build_app()
        sync = sorted(
            {
                f"{sorted(route.methods)[0]} {route.path}: {getattr(call, '__qualname__', call)}"
                for route in _routes(app.routes)
                for call in _callables(route.dependant)
                if not _is_async(call)
            }
        )
    assert not sync, f"sync endpoints or dependencies (each a thread hop per request): {sync}"
