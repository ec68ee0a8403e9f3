"""The run targets: each service by name, and ``all`` (Loki's ``-target=all``)."""

from __future__ import annotations

from importlib import import_module

from host.runtime import Runtime
from shared.service import ServiceModule

TARGETS = {
    "tickets": "services.tickets.module",
    "library": "services.library.module",
    "volunteers": "services.volunteers.module",
    "notify": "services.notify.module",
    "accounts": "services.accounts.module",
    "activities": "services.activities.module",
}


def available() -> list[str]:
    """Targets whose package is present in this install."""
    found = []
    for name, path in TARGETS.items():
        try:
            import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name and path.startswith(exc.name):
                continue
            raise
        found.append(name)
    return found


def build_runtime(targets: list[str] | tuple[str, ...] | None = None, **kwargs) -> Runtime:
    """A runtime for ``targets`` with the operators' console at /console and the residents' app at /app."""
    from host.webapp import build_app_router
    from ops.console import build_console_router

    return Runtime(load(targets), extra_routers=[build_console_router, build_app_router], **kwargs)


def load(targets: list[str] | tuple[str, ...] | None = None) -> list[ServiceModule]:
    """The modules for ``targets`` (default or ``all``: every available service)."""
    names = list(targets or ["all"])
    if "all" in names:
        names = available()
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        raise ValueError(f"unknown target(s): {', '.join(unknown)}; choose from all, {', '.join(TARGETS)}")
    return [import_module(TARGETS[n]).module for n in names]
