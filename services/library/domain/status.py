"""The copy state machine: which status changes are legal."""

from __future__ import annotations

from enum import StrEnum

from shared.errors import Conflict


class CopyStatus(StrEnum):
    """Where a copy stands in circulation."""

    AVAILABLE = "available"
    CHECKED_OUT = "checked_out"
    IN_TRANSIT = "in_transit"
    AWAITING_PICKUP = "awaiting_pickup"
    MISSING = "missing"
    LOST = "lost"
    CLAIMED_RETURNED = "claimed_returned"
    WITHDRAWN = "withdrawn"


LABELS = {
    CopyStatus.AVAILABLE: "在架",
    CopyStatus.CHECKED_OUT: "已借出",
    CopyStatus.IN_TRANSIT: "在途",
    CopyStatus.AWAITING_PICKUP: "待取",
    CopyStatus.MISSING: "下落不明",
    CopyStatus.LOST: "遗失",
    CopyStatus.CLAIMED_RETURNED: "声称已还",
    CopyStatus.WITHDRAWN: "已剔旧",
}

S = CopyStatus
_ALLOWED: dict[CopyStatus, set[CopyStatus]] = {
    S.AVAILABLE: {S.CHECKED_OUT, S.IN_TRANSIT, S.AWAITING_PICKUP, S.MISSING, S.WITHDRAWN},
    S.CHECKED_OUT: {S.AVAILABLE, S.IN_TRANSIT, S.AWAITING_PICKUP, S.LOST, S.CLAIMED_RETURNED},
    S.IN_TRANSIT: {S.AVAILABLE, S.AWAITING_PICKUP, S.IN_TRANSIT, S.MISSING},
    S.AWAITING_PICKUP: {S.CHECKED_OUT, S.AVAILABLE, S.IN_TRANSIT, S.AWAITING_PICKUP, S.MISSING},
    S.MISSING: {S.AVAILABLE, S.IN_TRANSIT, S.AWAITING_PICKUP, S.WITHDRAWN, S.LOST},
    S.LOST: {S.AVAILABLE, S.IN_TRANSIT, S.AWAITING_PICKUP, S.WITHDRAWN},
    S.CLAIMED_RETURNED: {S.AVAILABLE, S.IN_TRANSIT, S.AWAITING_PICKUP, S.LOST, S.MISSING},
    S.WITHDRAWN: set(),
}
# Statuses staff may set by hand; the others follow from circulation (check-out, check-in, arrival).
MANUAL = {S.MISSING, S.LOST, S.CLAIMED_RETURNED, S.WITHDRAWN, S.AVAILABLE}


def check_transition(current: str, new: str) -> CopyStatus:
    """Return ``new`` as a status when the change is legal; :class:`Conflict` with a clear message otherwise."""
    src, dst = CopyStatus(current), CopyStatus(new)
    if dst not in _ALLOWED[src]:
        raise Conflict(
            f"不能从「{LABELS[src]}」改为「{LABELS[dst]}」 / a copy cannot go from {src} to {dst}",
            code="bad_transition",
        )
    return dst
