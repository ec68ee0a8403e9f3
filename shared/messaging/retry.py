"""Retries, dead letters and reclaiming, built on the consumer group's pending entries list.

FastStream's Redis subscriber neither redelivers a failed message nor exposes delivery counts, so
a :class:`Reclaimer` per group and process looks at ``XPENDING`` periodically:

* an entry this consumer failed is claimed again (``XCLAIM``) once it has been idle for the
  backoff of its delivery count (``retry_base_ms * 2**(n-1)``, capped);
* an entry held by another consumer is claimed only after ``claim_idle_ms`` (that consumer died);
* an entry delivered ``max_deliveries`` times is copied to the dead-letter stream with the last
  error, the group and the delivery count, and acknowledged;
* nothing is claimed while the group's store is unreachable (an outage counts no deliveries).

``XCLAIM`` with a minimum idle time makes replicas race safely: only one of them wins an entry.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import cast

import redis.asyncio as aredis
from redis.typing import StreamIdT

from shared.messaging.consumer import BatchOutcome, ConsumerRuntime, dead_letter_fields

log = logging.getLogger("linli.retry")

# What XCLAIM answers on the runtime's bytes client (no decode_responses): ``(id, fields)`` pairs,
# the fields empty or None for an entry trimmed away (the stubs type them for any client). The ids
# passed to it are cast as well: its ``List[StreamIdT]`` parameter is invariant, ``list[bytes]`` fits.
_Claimed = list[tuple[bytes, dict[bytes, bytes] | None]]


class Reclaimer:
    def __init__(
        self,
        runtime: ConsumerRuntime,
        streams: list[str],
        *,
        max_deliveries: int = 5,
        retry_base_ms: int = 1000,
        retry_max_ms: int = 60_000,
        claim_idle_ms: int = 30_000,
        interval_ms: int = 500,
    ) -> None:
        self.runtime = runtime
        self.streams = streams
        self.max_deliveries = max_deliveries
        self.retry_base_ms = retry_base_ms
        self.retry_max_ms = retry_max_ms
        self.claim_idle_ms = claim_idle_ms
        self.interval_ms = interval_ms
        self.stopping = False

    @property
    def redis(self) -> aredis.Redis:
        return self.runtime.redis

    def backoff_ms(self, deliveries: int) -> int:
        """Idle time before the next try after ``deliveries`` tries (exponential, capped)."""
        backoff: int = self.retry_base_ms * 2 ** max(deliveries - 1, 0)
        return min(backoff, self.retry_max_ms)

    async def run(self) -> None:
        while not self.stopping:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down or group gone: the guardian repairs, we retry
                log.debug("reclaim sweep failed: %s", exc)
            await asyncio.sleep(self.interval_ms / 1000 * (0.8 + 0.4 * random.random()))

    async def sweep(self) -> BatchOutcome:
        """One pass over every stream's pending entries; returns what was settled.

        None while the store is unreachable: a claim would count a delivery that cannot succeed.
        """
        total = BatchOutcome()
        if self.runtime.store_down:
            return total
        for stream in self.streams:
            outcome = await self.sweep_stream(stream)
            total.done += outcome.done
            total.duplicates += outcome.duplicates
            total.failed.update(outcome.failed)
            total.dead.update(outcome.dead)
        return total

    async def sweep_stream(self, stream: str, count: int = 200) -> BatchOutcome:
        runtime = self.runtime
        group, me = runtime.group, runtime.consumer_name
        pending = await self.redis.xpending_range(stream, group, min="-", max="+", count=count)
        retry_ids: list[bytes] = []
        dead_ids: list[tuple[bytes, int]] = []
        min_idle: dict[bytes, int] = {}
        for item in pending:  # a bytes client: ids are bytes, counts and times ints
            entry_id = cast(bytes, item["message_id"])
            deliveries = cast(int, item["times_delivered"])
            idle = cast(int, item["time_since_delivered"])
            owner = item["consumer"].decode() if isinstance(item["consumer"], bytes) else item["consumer"]
            due_after = self.backoff_ms(deliveries)
            if owner != me:
                due_after = max(due_after, self.claim_idle_ms)
            if idle < due_after or entry_id in runtime.in_flight:
                continue
            min_idle[entry_id] = due_after
            if deliveries >= self.max_deliveries:
                dead_ids.append((entry_id, deliveries))
            else:
                retry_ids.append(entry_id)
        outcome = BatchOutcome()
        if dead_ids:
            await self._dead_letter(stream, dead_ids, min(min_idle[i] for i, _ in dead_ids), outcome)
        if retry_ids:
            claimed = cast(
                _Claimed,
                await self.redis.xclaim(
                    stream, group, me, min(min_idle[i] for i in retry_ids), cast("list[StreamIdT]", retry_ids)
                ),
            )
            present = [(eid, fields) for eid, fields in claimed if fields]
            gone = [eid for eid, fields in claimed if not fields]
            if gone:  # trimmed away by MAXLEN before it could be retried: nothing left to apply
                await self.redis.xack(stream, group, *gone)
            if present:
                outcome = await runtime.handle_entries(stream, present)
        return outcome

    async def _dead_letter(
        self, stream: str, items: list[tuple[bytes, int]], min_idle: int, outcome: BatchOutcome
    ) -> None:
        runtime = self.runtime
        group = runtime.group
        ids = [i for i, _ in items]
        claimed = cast(
            _Claimed,
            await self.redis.xclaim(stream, group, runtime.consumer_name, min_idle, cast("list[StreamIdT]", ids)),
        )
        won = {eid: fields for eid, fields in claimed}
        if not won:
            return
        errors = cast("list[bytes | None]", await self.redis.hmget(runtime.names.errors(group), list(won)))
        deliveries_of = dict(items)
        pipe = self.redis.pipeline(transaction=True)
        for (entry_id, fields), error in zip(won.items(), errors, strict=True):
            pipe.xadd(
                runtime.names.dead_letter,
                dead_letter_fields(
                    raw=fields or {},
                    stream=stream,
                    entry_id=entry_id,
                    group=group,
                    deliveries=deliveries_of[entry_id],
                    reason="handler_failed" if fields else "entry_trimmed",
                    error=(error or b"").decode(errors="replace") or "unknown error",
                ),
                maxlen=runtime.dlq_maxlen,
                approximate=True,
            )
            outcome.dead[entry_id] = ("handler_failed", (error or b"").decode(errors="replace"))
        pipe.xack(stream, group, *won)
        pipe.hdel(runtime.names.errors(group), *won)
        await pipe.execute()
        log.warning(
            "dead-lettered %d entries of %s after %d deliveries",
            len(won),
            stream,
            self.max_deliveries,
            extra={"group": group},
        )
