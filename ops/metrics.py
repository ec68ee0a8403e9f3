"""Prometheus gauges computed from Redis by the operators' tools (updated by the console's sampler)."""

from __future__ import annotations

from prometheus_client import Gauge

DEAD_LETTERS_CURRENT = Gauge(
    "linli_dead_letters_current", "Entries now in the dead-letter stream, per group", ["group"]
)
GROUP_LAG = Gauge("linli_group_lag", "Entries not yet delivered to a consumer group", ["stream", "group"])
GROUP_PENDING = Gauge("linli_group_pending", "Entries delivered to a group but not acknowledged", ["stream", "group"])


def publish(stats, dead_counts: dict[str, int]) -> None:
    """Set the gauges from one sample of :func:`ops.groups.group_stats`."""
    groups = {s.group for s in stats} | set(dead_counts)
    for group in groups:
        DEAD_LETTERS_CURRENT.labels(group).set(dead_counts.get(group, 0))
    for s in stats:
        GROUP_LAG.labels(s.stream, s.group).set(s.lag or 0)
        GROUP_PENDING.labels(s.stream, s.group).set(s.pending)
