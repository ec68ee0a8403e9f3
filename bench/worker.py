"""A consumer process for the throughput and scaling runs: ``python -m bench.worker notify|noop``.

``notify`` runs the real notify service (its runtime: consumer group, inbox, handlers, relay) without
HTTP; ``noop`` is the baseline, a plain FastStream per-message subscriber that does nothing. Both print
``ready`` once subscribed and run until SIGTERM. Configuration comes from the environment
(``LINLI_STREAM_PREFIX``, ``LINLI_CONSUMER_NAME``, ``NOTIFY_DATABASE_URL``…).
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys

NOOP_GROUP = "noop"


async def _until_term() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()


async def run_notify() -> None:
    from host.runtime import Runtime
    from services.notify.module import module
    from shared.config import Settings

    runtime = Runtime([module], settings=Settings(log_json=False), run_tickers=False)
    gc.freeze()  # as `linli run` does once the runtime is built, and after start (host/cli.py)
    runtime.settle_heap = True
    async with runtime.running():
        await _until_term()


async def run_noop() -> None:
    from faststream.redis import RedisBroker, StreamSub

    from shared.config import Settings

    s = Settings()
    broker = RedisBroker(s.redis_url, logger=None)
    key = f"{s.stream_prefix}:tickets"

    @broker.subscriber(stream=StreamSub(key, group=NOOP_GROUP, consumer=s.consumer_name))
    async def handle(msg) -> None:  # the baseline does nothing with the event
        return None

    await broker.start()
    try:
        await _until_term()
    finally:
        await broker.stop()


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run_notify() if sys.argv[1] == "notify" else run_noop())
