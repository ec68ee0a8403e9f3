"""Consumer groups that survive a flushed or restarted Redis.

FastStream stops a stream subscriber for good when its group disappears (NOGROUP, faststream
issue 2611). The :class:`GroupGuardian` recreates missing groups (from id ``0``, so nothing written
after the flush is skipped) and restarts subscribers that stopped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import redis.asyncio as aredis
from redis.exceptions import ResponseError

log = logging.getLogger("linli.groups")


async def ensure_group(redis: aredis.Redis, stream: str, group: str) -> bool:
    """Create ``group`` on ``stream`` (and the stream) if missing; ``True`` if it was created."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
        return True
    except ResponseError as exc:
        if "BUSYGROUP" in str(exc):
            return False
        raise


async def group_exists(redis: aredis.Redis, stream: str, group: str) -> bool:
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return False
    wanted = group.encode()
    return any(g["name"] in (wanted, group) for g in groups)


class GroupGuardian:
    """Keeps ``(stream, group)`` pairs in place and their FastStream subscribers running."""

    def __init__(self, redis: aredis.Redis, interval_s: float = 1.0) -> None:
        self.redis = redis
        self.interval_s = interval_s
        self.pairs: list[tuple[str, str, Any]] = []
        self.recreated = 0
        self.stopping = False

    def watch(self, stream: str, group: str, subscriber: Any = None) -> None:
        self.pairs.append((stream, group, subscriber))

    async def ensure_all(self) -> int:
        created = 0
        for stream, group, _ in self.pairs:
            if await ensure_group(self.redis, stream, group):
                created += 1
        return created

    async def check(self) -> None:
        """Recreate missing groups and restart stopped subscribers (one pass)."""
        created = await self.ensure_all()
        if created:
            self.recreated += created
            log.warning("recreated %d consumer groups (Redis was flushed or restarted)", created)
        for _stream, _group, subscriber in self.pairs:
            if subscriber is not None and not subscriber.running and not self.stopping:
                await subscriber.start()
                log.warning("restarted subscriber for %s", _stream)

    async def run(self) -> None:
        while not self.stopping:
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis unreachable: try again next round
                log.debug("group check failed: %s", exc)
            await asyncio.sleep(self.interval_s)
