"""Events of the accounts service on stream ``<prefix>:accounts`` (source ``/linli/accounts``).

A person appears by ``person_id`` and ``sub`` (the principal id other services key their records by),
with a display name and where they live (community, estate, building, unit, household): what the other
services need to scope records and address notices. Phone numbers (full or masked), one-time codes,
tokens and ID numbers never appear in an event.
"""

from __future__ import annotations

from datetime import datetime

from shared.events.envelope import EventData
from shared.events.registry import event

SOURCE = "/linli/accounts"


class Whereabouts(EventData):
    """Where a household is: every level, so a consumer can build audiences without asking accounts."""

    household_id: str | None = None
    community: str | None = None
    estate: str | None = None
    building: str | None = None
    unit: str | None = None


@event("cn.linli.accounts.PersonRegistered.v1", SOURCE)
class PersonRegistered(Whereabouts):
    person_id: str
    sub: str
    name: str
    registered_at: datetime


@event("cn.linli.accounts.HouseholdMoved.v1", SOURCE)
class HouseholdMoved(Whereabouts):
    """A person moved to another household (``household_id`` and the levels are the new home), or left
    the register's households (every level ``None``: moved out of the communities Linli serves)."""

    person_id: str
    sub: str
    from_household_id: str | None = None
    moved_at: datetime


class RoleEvent(EventData):
    person_id: str
    sub: str
    role: str
    community: str | None = None
    team: str | None = None
    institution: str | None = None


@event("cn.linli.accounts.RoleGranted.v1", SOURCE)
class RoleGranted(RoleEvent):
    granted_at: datetime


@event("cn.linli.accounts.RoleRevoked.v1", SOURCE)
class RoleRevoked(RoleEvent):
    revoked_at: datetime


@event("cn.linli.accounts.ResidentErased.v1", SOURCE)
class ResidentErased(EventData):
    """A person's personal data was erased from accounts (PIPL art. 47): consumers erase theirs by ``sub``."""

    person_id: str
    sub: str
    erased_at: datetime
