"""Lag and pending of every consumer group over the last hour, sampled in memory, drawn as SVG."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import datetime, timedelta

from markupsafe import Markup, escape

from ops import metrics
from ops.groups import GroupStats, dead_letter_counts, group_stats
from shared.clock import local, utcnow

log = logging.getLogger("linli.console")
WINDOW = timedelta(hours=1)


class GroupSampler:
    """Keeps ``(time, {(stream, group): (lag, pending)})`` for the last hour and updates the gauges."""

    def __init__(self, runtime, every_s: float = 10.0) -> None:
        self.runtime = runtime
        self.every_s = every_s
        self.samples: deque[tuple[datetime, dict[tuple[str, str], tuple[int, int]]]] = deque()
        self.latest: list[GroupStats] = []

    async def sample(self) -> list[GroupStats]:
        """Read every group now, remember it, publish the Prometheus gauges; returns the stats."""
        redis, names = self.runtime.redis, self.runtime.names
        stats = await group_stats(redis, names)
        metrics.publish(stats, await dead_letter_counts(redis, names))
        now = utcnow()
        self.samples.append((now, {(s.stream, s.group): (s.lag or 0, s.pending) for s in stats}))
        while self.samples and now - self.samples[0][0] > WINDOW:
            self.samples.popleft()
        self.latest = stats
        return stats

    async def run(self) -> None:
        while True:
            try:
                await self.sample()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: the board shows the gap
                log.debug("group sample failed: %s", exc)
            await asyncio.sleep(self.every_s)

    def series(self, stream: str, group: str) -> list[tuple[datetime, int, int]]:
        return [(t, *values[(stream, group)]) for t, values in self.samples if (stream, group) in values]

    def chart(self, stream: str, group: str, width: int = 260, height: int = 36) -> Markup:
        """An SVG line chart of lag (blue) and pending (orange) over the last hour."""
        points = self.series(stream, group)
        now = utcnow()
        top = max([1] + [max(lag, pending) for _, lag, pending in points])

        def line(index: int, colour: str) -> str:
            coords = []
            for t, *values in points:
                x = width * (1 - (now - t).total_seconds() / WINDOW.total_seconds())
                y = height - 4 - (height - 8) * values[index] / top
                coords.append(f"{x:.1f},{y:.1f}")
            if len(coords) == 1:
                coords.insert(0, f"0,{coords[0].split(',')[1]}")
            return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(coords)}"/>'

        start = local(now - WINDOW).strftime("%H:%M")
        label = escape(f"{group} @ {stream}: lag / pending, last hour (max {top})")
        body = line(0, "#2563eb") + line(1, "#ea580c") if points else ""
        return Markup(
            f'<svg class="chart" role="img" aria-label="{label}" width="{width}" height="{height + 14}" '
            f'viewBox="0 0 {width} {height + 14}"><rect width="{width}" height="{height}" fill="#f8fafc"/>'
            f'{body}<text x="2" y="{height + 12}" font-size="10">{start}</text>'
            f'<text x="{width - 2}" y="{height + 12}" font-size="10" text-anchor="end">now · max {top}</text></svg>'
        )
