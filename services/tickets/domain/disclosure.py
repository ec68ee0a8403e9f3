"""What anonymous and other residents' views may show of a ticket: a rule written as data (issue 15).

A report about a street lamp is public: its place and description help neighbours avoid duplicates.
A report from a volunteer's home visit, or of a category that happens inside a home (居家安全隐患),
tells where a vulnerable elder lives and what is wrong in the flat: public views show its community
only, never building, unit, floor, address, coordinates, description or photo.

Public notes carry no names: only the notes staff write for the public at the steps below
(受理 / 处理中 / 办结 / 关闭). Assignment notes name the worker (``自动派单给 孙伟（维修）``),
escalations the supervisor, notes other services write (``system:activities``: the artisan of a
小修小补 booking) name people too, and residents' own notes stay private.
"""

from __future__ import annotations

PRIVATE_ORIGINS = ("volunteers",)
"""``Ticket.via`` values whose tickets are private by origin (a volunteer's home visit)."""

PUBLIC_NOTE_ACTIONS = frozenset({"acknowledge", "start", "resolve", "close"})
"""History actions whose note may be shown publicly."""


def home_private(*, via: str | None, source_hazard_id: str | None, in_home: bool) -> bool:
    """Whether a ticket's place and contents are hidden from public views."""
    return in_home or source_hazard_id is not None or (via or "") in PRIVATE_ORIGINS


SYSTEM_ACTOR = "system:"
"""Actors whose notes are generated (round-robin, SLA, other services): never shown publicly."""


def public_note(action: str, note: str | None, *, private: bool, actor: str | None = None) -> str | None:
    """The note a public view shows for one history entry (none for private tickets)."""
    if private or action not in PUBLIC_NOTE_ACTIONS or (actor or "").startswith(SYSTEM_ACTOR):
        return None
    return note


def public_title(title: str, category_name: str, *, private: bool) -> str:
    """A private ticket's title is its category's name (a hazard's title quotes its description)."""
    return category_name if private else title
