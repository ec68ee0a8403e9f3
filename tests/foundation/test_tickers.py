"""A running service's periodic jobs run, whether written ``def`` or ``async def``.

accounts' stream scrub (``async def scrub``) was handed to a worker thread like the others, which only created
its coroutine: the job never ran in a real process, and the tests that called it directly could not tell.
"""

from __future__ import annotations

import dataclasses
import threading

from host.runtime import Runtime
from services.tickets.module import module as tickets
from tests.conftest import eventually


async def test_sync_and_async_periodic_jobs_both_run_in_a_started_runtime(settings):
    ran: dict[str, str] = {}

    def sync_job(ctx, now) -> int:
        ran["sync"] = threading.current_thread().name
        return 0

    async def async_job(ctx, now) -> int:
        ran["async"] = threading.current_thread().name
        return 0

    module = dataclasses.replace(tickets, tickers=[("sync", 0.05, sync_job), ("async", 0.05, async_job)])
    runtime = Runtime([module], settings=settings, run_tickers=True)
    runtime.migrate()
    async with runtime.running():
        await eventually(lambda: {"sync", "async"} <= ran.keys())
    assert ran["async"] == threading.main_thread().name  # awaited on the loop, not lost on a thread
    assert ran["sync"] != threading.main_thread().name  # blocking work stays off the loop
