"""12345-hotline style indicators, computed from plain numbers (no I/O)."""

from __future__ import annotations

from statistics import quantiles


def rate(numerator: int, denominator: int) -> float | None:
    """A share rounded to 4 places, ``None`` when there is nothing to divide."""
    return round(numerator / denominator, 4) if denominator else None


def median_p90(values: list[float]) -> tuple[float | None, float | None]:
    """Median and 90th percentile (inclusive method); ``None`` for an empty list."""
    if not values:
        return None, None
    if len(values) == 1:
        return round(values[0], 2), round(values[0], 2)
    data = sorted(values)
    cuts = quantiles(data, n=10, method="inclusive")
    mid = quantiles(data, n=2, method="inclusive")[0]
    return round(mid, 2), round(cuts[8], 2)


AGE_BUCKETS = ((1, "<1d"), (3, "1-3d"), (7, "3-7d"), (30, "7-30d"))


def age_bucket(days: float) -> str:
    """The backlog bucket of an open ticket that is ``days`` old."""
    for limit, label in AGE_BUCKETS:
        if days < limit:
            return label
    return ">30d"
