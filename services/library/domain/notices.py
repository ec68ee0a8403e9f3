"""Which notice a loan is due for at a given time (no I/O).

Due-soon fires once per due date (a renewal re-arms it); overdue stages fire in order, once each.
When the job was not running for a while, only the latest reached stage fires (no burst of old notices).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta


def due_soon(now: datetime, due_at: datetime, days_before: int) -> int | None:
    """Days left when ``now`` is within ``days_before`` days before ``due_at``, else ``None``."""
    if due_at - timedelta(days=days_before) <= now < due_at:
        return max(math.ceil((due_at - now) / timedelta(days=1)), 1)
    return None


def overdue_stage(now: datetime, due_at: datetime, schedule: list[int], fired: int) -> int | None:
    """The 1-based stage to fire now (the latest one reached beyond ``fired``), else ``None``."""
    reached = sum(1 for days in sorted(schedule) if now >= due_at + timedelta(days=days))
    return reached if reached > fired else None
