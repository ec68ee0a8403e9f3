"""The ticket state machine: which action is allowed from which state, and where it leads."""

from __future__ import annotations

OPEN_STATES = ("submitted", "acknowledged", "assigned", "in_progress", "reopened")
STATES = (*OPEN_STATES, "resolved", "closed")
STAFF_CLOSE_REASONS = ("duplicate", "not_responsible", "rejected")
CLOSE_REASONS = (*STAFF_CLOSE_REASONS, "withdrawn", "confirmed", "auto_closed", "repair_done")
RATABLE_CLOSED = ("repair_done",)
"""Close reasons after which the reporter may still rate, once, and the ticket stays closed: a 小修小补 job the
artisan marked done closes its ticket at once (the resident was there), and the stars come after."""

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "acknowledge": (("submitted",), "acknowledged"),
    "assign": (("acknowledged", "assigned", "in_progress", "reopened"), "assigned"),
    "start": (("assigned", "reopened"), "in_progress"),
    "resolve": (("acknowledged", "assigned", "in_progress", "reopened"), "resolved"),
    "close": (("submitted", "acknowledged", "assigned", "in_progress", "reopened"), "closed"),
    "withdraw": (("submitted", "acknowledged", "assigned"), "closed"),
    "rate": (("resolved",), "closed"),
    "reopen": (("resolved",), "reopened"),
    "auto_close": (("resolved",), "closed"),
    "complete": (("resolved",), "closed"),  # the artisan marked the 小修小补 job done (activities' RepairCompleted)
    "rate_closed": (("closed",), "closed"),  # a rating after a close of RATABLE_CLOSED: see rating_action
}

STATE_NAMES = {
    "submitted": "已提交",
    "acknowledged": "已受理",
    "assigned": "已派单",
    "in_progress": "处理中",
    "resolved": "已办结",
    "closed": "已关闭",
    "reopened": "已重新打开",
}


class IllegalTransition(Exception):
    """An action that the ticket's current state does not allow (HTTP 409)."""

    def __init__(self, action: str, status: str) -> None:
        allowed = ", ".join(TRANSITIONS[action][0]) if action in TRANSITIONS else "-"
        super().__init__(
            f"当前状态「{STATE_NAMES.get(status, status)}」不能执行 {action} / cannot {action} a ticket that is "
            f"{status} (allowed from: {allowed})"
        )
        self.action = action
        self.status = status


def next_state(action: str, status: str) -> str:
    """The state ``action`` leads to from ``status``; raises :class:`IllegalTransition`."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise IllegalTransition(action, status)
    return target


def rating_action(status: str, close_reason: str | None, rated: bool) -> str:
    """What a reporter's rating is: ``rate`` (closes a resolved ticket as confirmed), or ``rate_closed`` for a
    ticket closed for a reason of :data:`RATABLE_CLOSED` and not rated yet; any other closed ticket answers
    :class:`IllegalTransition` through ``rate``."""
    if status == "closed" and close_reason in RATABLE_CLOSED and not rated:
        return "rate_closed"
    return "rate"


def is_open(status: str) -> bool:
    return status in OPEN_STATES


def open311_status(status: str) -> str:
    """Open311 knows two states: ``open`` and ``closed`` (resolved counts as closed)."""
    return "open" if is_open(status) else "closed"
