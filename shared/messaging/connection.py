"""Redis clients for one Redis or a Redis Cluster, chosen by ``LINLI_REDIS_CLUSTER``.

In a Redis Cluster a ``MULTI`` (and any command on several keys) must touch keys of one hash slot.
The consumer's settle step (``XADD`` dead letter, ``XACK``, ``HSET``/``HDEL`` of the group's errors),
the reclaimer's dead-lettering, and an operator's redrive (``XADD`` retry stream, ``XDEL`` dead letter)
each couple a source stream with the dead-letter stream, the retry streams and the errors hashes. So
every key under a deployment's stream prefix shares one slot: in cluster mode the prefix is a hash tag
(``linli`` becomes ``{linli}``, keys ``{linli}:tickets``, ``{linli}:dlq`` …; see :func:`tagged_prefix`),
and no Linli command can be cross-slot. A deployment's streams then live on one master (the cluster
gives it failover and a place among other tenants); deployments with their own prefixes spread over
the masters. Keys of one request, such as ``Idempotency-Key`` records, are single-key commands and
keep the plain prefix (they spread over the slots).

With one Redis (the default) nothing changes: the same clients and key names as before.
"""

from __future__ import annotations

from typing import Any, cast

import redis
import redis.asyncio as aredis
from faststream.redis import RedisBroker, RedisClusterBroker


def has_hash_tag(key: str) -> bool:
    """Whether Redis Cluster hashes ``key`` by a tag: a ``{`` followed later by a ``}`` with something between."""
    start = key.find("{")
    if start < 0:
        return False
    end = key.find("}", start + 1)
    return end > start + 1


def tagged_prefix(prefix: str) -> str:
    """The key prefix of a deployment on a Redis Cluster: ``prefix`` as a hash tag unless it has one."""
    return prefix if has_hash_tag(prefix) else "{" + prefix + "}"


def async_client(url: str, *, cluster: bool = False, **options: Any) -> aredis.Redis:
    """An asyncio client on ``url``: one Redis, or a cluster reached through the node ``url`` names.

    The cluster client is typed as the plain one: it has the same commands for what Linli uses
    (streams, hashes, strings, transactions within one slot), and callers need not tell them apart.
    """
    if cluster:
        return cast("aredis.Redis", aredis.RedisCluster.from_url(url, **options))
    return aredis.Redis.from_url(url, **options)


def sync_client(url: str, *, cluster: bool = False, **options: Any) -> redis.Redis:
    """A blocking client (the outbox relay's worker thread), one Redis or a cluster."""
    if cluster:
        return cast("redis.Redis", redis.RedisCluster.from_url(url, **options))
    return redis.Redis.from_url(url, **options)


def broker(url: str, *, cluster: bool = False, **options: Any) -> RedisBroker:
    """The FastStream broker the consumer groups read through (``RedisClusterBroker`` on a cluster)."""
    if cluster:
        return RedisClusterBroker(url, **options)
    return RedisBroker(url, **options)
