"""Erasing a person from the volunteers service (``ResidentErased``): a volunteer record of theirs.

A volunteer is linked to an account by ``user_id``; their record keeps the hours they gave (the time
bank and the team's reports count them) and the visits they made (an elder's care history), but not
their name, phone, skills or availability, and their pairings end so that the team leader pairs the
elders again. Columns naming them as an actor (visit-log author, revisions, pauses, campaigns,
consents recorded, team leader or staff contact) hold the tombstone instead.

Elders are not accounts: an elder's record is not linked to a ``sub``, and is removed by the staff of
her community, not by this event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from services.volunteers.adapters.orm import (
    Campaign,
    HealthConsent,
    LogRevision,
    Pairing,
    PlanPause,
    Team,
    TimeBankEntry,
    VisitLog,
    Volunteer,
    access_log,
)
from shared.erasure import ERASED_TEXT, retire

ACTOR_COLUMNS = (
    VisitLog.author,
    LogRevision.actor,
    TimeBankEntry.actor,
    PlanPause.created_by,
    Campaign.created_by,
    HealthConsent.recorded_by,
    HealthConsent.withdrawn_by,
    access_log.table.c.actor,
)


def erase_person(session: Session, sub: str, now: datetime) -> int:
    """Anonymise the volunteer linked to ``sub`` and tombstone ``sub`` as an actor; rows changed."""
    changed = 0
    found = session.scalars(select(Volunteer).where(Volunteer.user_id == sub)).first()  # type: ignore[arg-type]
    if found is not None:
        found.name, found.phone, found.user_id = ERASED_TEXT, None, None
        found.skills, found.availability, found.active = [], [], False
        session.add(found)
        ended = session.execute(
            update(Pairing)
            .where(Pairing.volunteer_id == found.id, Pairing.ended_at.is_(None))  # type: ignore[union-attr]
            .values(ended_at=now, end_reason="volunteer erased")
        )
        changed += 1 + int(ended.rowcount or 0)  # type: ignore[attr-defined]
    for column in (Team.leader, Team.staff_contact):
        cleared = session.execute(update(Team).where(column == sub).values({column.key: None}))
        changed += int(cleared.rowcount or 0)  # type: ignore[attr-defined]
    return changed + retire(session, sub, ACTOR_COLUMNS)
