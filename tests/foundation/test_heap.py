"""A server process's heap after start-up: nothing start-up made is left for the garbage collector's
full collections (they would walk it under load, pausing the event loop and its threads)."""

from __future__ import annotations

import gc

from host import catalog
from host.runtime import Runtime


async def test_a_started_server_runtime_leaves_no_start_up_object_to_full_collections(settings):
    runtime = Runtime(catalog.load(["tickets", "notify"]), settings=settings, run_tickers=False)
    runtime.settle_heap = True  # as `linli run` sets it
    frozen_before = gc.get_freeze_count()
    try:
        await runtime.start()  # migrations, the broker, relays and groups: objects made here
        assert gc.get_objects(generation=2) == []  # the full collection's own generation is empty
        assert gc.get_freeze_count() > frozen_before
    finally:
        await runtime.stop()
        gc.unfreeze()  # this test process's objects go back to the collector
