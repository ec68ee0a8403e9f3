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


async def test_a_subscriber_reads_its_stream_settings_without_copying_them(start_runtime, settings):
    """FastStream's stream subscriber reads ``stream_sub`` several times per read, and its ``add_prefix``
    deep-copied the settings each time; the consumer's are copied once and stay as configured."""
    async with start_runtime([probe.module]) as (runtime, _client):
        subscribers = [s for s in runtime.broker.subscribers if getattr(s, "_stream_sub", None) is not None]
        assert subscribers
        for subscriber in subscribers:
            reads = [subscriber.stream_sub for _ in range(3)]
            assert all(read is reads[0] for read in reads)
            assert reads[0].group and reads[0].consumer == settings.consumer_name and reads[0].batch
