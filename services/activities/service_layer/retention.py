"""Retention of the activities store (issue 15, item 5.4): the policy as data, and the job that applies it.

A sign-up names an account, a household and perhaps a child; a year after its activity ended that is
no longer needed, so the sign-up is anonymised as an erasure would (``erasure.anonymise_signup``) and
the attendance figures stay. Safe in two replicas: an anonymised sign-up (tombstone) is not picked again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from services.activities.adapters.orm import Activity, Signup
from services.activities.service_layer.erasure import anonymise_signup
from shared.erasure import TOMBSTONE, Rule
from shared.service import ServiceContext

SIGNUPS = Rule(
    "activities.signups", "a sign-up's account, household and child's name", "the activity's end", 365, "anonymised"
)
POLICY = (SIGNUPS,)
BATCH = 500


def tick(ctx: ServiceContext, now: datetime) -> int:
    """Anonymise sign-ups of activities that ended longer ago than the period; returns how many."""
    with ctx.store.transaction() as session:
        due = list(
            session.scalars(
                select(Signup)
                .join(Activity, Activity.id == Signup.activity_id)
                .where(Activity.ends_at < SIGNUPS.cutoff(now), Signup.user != TOMBSTONE)  # type: ignore[arg-type]
                .limit(BATCH)
            )
        )
        for signup in due:
            anonymise_signup(signup)
            session.add(signup)
        return len(due)
