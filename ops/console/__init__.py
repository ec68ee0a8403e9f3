"""The operators' web console (``/console``), mounted by the runtime in every process."""

from ops.console.router import build_console_router

__all__ = ["build_console_router"]
