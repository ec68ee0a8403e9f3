"""The consumer's batches stay on the event loop: none waits for a worker thread of anyio's pool.

FastAPI runs sync routes in anyio's worker threads, up to the default limiter's tokens (40) at once.
When FastStream resolved the batch handler's message through fast_depends, each batch went through
that pool too (``Context.use`` is sync), so a process whose sync routes were all busy stopped
consuming until one finished (host/runtime.py, ``_batch_handler``).
"""

from __future__ import annotations

import anyio.to_thread
import redis.asyncio as aredis

from shared.events import new_event
from shared.events.tickets import TicketOpened
from shared.messaging.streams import StreamNames, encode_entry
from tests.conftest import eventually
from tests.support import probe


async def test_events_are_applied_while_every_worker_thread_is_taken(start_runtime, settings):
    names = StreamNames(settings.stream_prefix)
    r = aredis.Redis.from_url(settings.redis_url)
    async with start_runtime([probe.module]) as (runtime, _client):
        limiter = anyio.to_thread.current_default_thread_limiter()
        borrowers = [object() for _ in range(int(limiter.total_tokens))]
        for borrower in borrowers:  # as many sync routes in flight as the pool allows
            await limiter.acquire_on_behalf_of(borrower)
        try:
            assert limiter.available_tokens == 0
            for i in range(3):
                data = TicketOpened(ticket_id=f"T{i}", category="street_light", title=f"路灯{i}")
                event = new_event(data, subject=f"T{i}")
                await r.xadd(names.events("tickets"), encode_entry(event.to_json(), event.type))
            await eventually(lambda: probe.effect_count(runtime) == 3, timeout=5)
        finally:
            for borrower in borrowers:
                limiter.release_on_behalf_of(borrower)
            await r.aclose()
