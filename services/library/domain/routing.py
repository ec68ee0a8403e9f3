"""Where a checked-in book goes next: the routing slip (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from services.library.domain.status import CopyStatus


@dataclass(frozen=True)
class Slip:
    """The decision for one checked-in copy: its new status, where it goes and why."""

    status: CopyStatus
    destination: str
    reason: str  # "shelve" (stays here), "home", "hold"
    hold_id: str | None = None

    def message(self, here: str, names: dict[str, str] | None = None) -> str:
        """The routing slip text for staff, with branch names when known."""
        names = names or {}
        there = f"{names.get(self.destination, self.destination)}（{self.destination}）"
        if self.reason == "hold" and self.status is CopyStatus.AWAITING_PICKUP:
            return f"预约书：放本馆预约架待读者取书 / hold: put on the hold shelf at {here}"
        if self.reason == "hold":
            return f"预约书：请转运至 {there} / hold: send to {self.destination}"
        if self.reason == "home":
            return f"请转运回所属馆 {there} / send home to {self.destination}"
        return f"上架 {names.get(here, here)} / shelve at {here}"


def route(*, here: str, home: str, floating: bool, hold: tuple[str, str] | None) -> Slip:
    """Decide for a copy checked in at ``here``.

    ``hold`` is ``(hold_id, pickup_branch)`` of the first waiting hold on the title, if any. A hold
    wins; otherwise a floating collection keeps the copy where it was returned and others go home.
    """
    if hold is not None:
        hold_id, pickup = hold
        if pickup == here:
            return Slip(CopyStatus.AWAITING_PICKUP, here, "hold", hold_id)
        return Slip(CopyStatus.IN_TRANSIT, pickup, "hold", hold_id)
    if here == home or floating:
        return Slip(CopyStatus.AVAILABLE, here, "shelve")
    return Slip(CopyStatus.IN_TRANSIT, home, "home")
