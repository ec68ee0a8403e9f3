"""The ticker's work: offers that ran out, reminders a day before, no-shows after the session.

Each piece is claimed by a conditional UPDATE in the same transaction as its event, so two
replicas ticking together, or a restart in between, fire each exactly once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from services.activities.adapters.orm import Activity, Signup, Venue
from services.activities.config import activities_settings
from services.activities.service_layer import signups
from services.activities.service_layer.programme import activity
from shared.events.activities import ActivityReminderDue, AttendanceRecorded
from shared.service import ServiceContext


def expire_offers(ctx: ServiceContext, now: datetime) -> int:
    """Offers past their deadline end (``offer_expired``) and the place goes to the next in line;
    returns the events emitted (each expiry and each new offer)."""
    with ctx.store.transaction() as session:
        due = (
            session.execute(select(Signup.id).where(Signup.status == "offered", Signup.offered_until <= now))
            .scalars()
            .all()
        )
    fired = 0
    for signup_id in due:
        with ctx.store.transaction() as session:
            signup = session.get(Signup, signup_id)
            row = activity(session, signup.activity_id, for_update=True) if signup else None
            if signup is None or row is None:
                continue
            claimed = session.execute(
                update(Signup)
                .execution_options(synchronize_session=False)
                .where(Signup.id == signup_id, Signup.status == "offered", Signup.offered_until <= now)
                .values(status="expired", closed_at=now)
            ).rowcount
            if claimed != 1:
                continue
            session.refresh(signup)
            ctx.emit(
                session,
                signups.SignupCancelled(**signups.signup_facts(session, signup, row), reason="offer_expired"),
                subject=signup.id,
            )
            fired += 1 + signups.refill(ctx, session, row, now)
    return fired


def send_reminders(ctx: ServiceContext, now: datetime) -> int:
    """ActivityReminderDue once per confirmed place, ``reminder_hours`` before the session."""
    horizon = now + timedelta(hours=activities_settings().reminder_hours)
    with ctx.store.transaction() as session:
        due = (
            session.execute(
                select(Signup.id)
                .join(Activity, Activity.id == Signup.activity_id)
                .where(
                    Signup.status == "confirmed",
                    Signup.reminded_at.is_(None),
                    Activity.status == "published",
                    Activity.starts_at > now,
                    Activity.starts_at <= horizon,
                )
            )
            .scalars()
            .all()
        )
    fired = 0
    for signup_id in due:
        with ctx.store.transaction() as session:
            claimed = session.execute(
                update(Signup)
                .execution_options(synchronize_session=False)
                .where(Signup.id == signup_id, Signup.status == "confirmed", Signup.reminded_at.is_(None))
                .values(reminded_at=now)
            ).rowcount
            if claimed != 1:
                continue
            signup = session.get(Signup, signup_id)
            session.refresh(signup)
            row = activity(session, signup.activity_id)
            room = session.get(Venue, row.venue_id)
            event = ActivityReminderDue(
                **signups.signup_facts(session, signup, row), location=room.location if room else None
            )
            ctx.emit(session, event, subject=signup.id)
            fired += 1
    return fired


def record_no_shows(ctx: ServiceContext, now: datetime) -> int:
    """Confirmed places nobody checked in for, once the session is over, count as no-shows."""
    with ctx.store.transaction() as session:
        due = (
            session.execute(
                select(Signup.id)
                .join(Activity, Activity.id == Signup.activity_id)
                .where(
                    Signup.status == "confirmed",
                    Signup.attended.is_(None),
                    Activity.status == "published",
                    Activity.ends_at <= now,
                )
            )
            .scalars()
            .all()
        )
    fired = 0
    for signup_id in due:
        with ctx.store.transaction() as session:
            claimed = session.execute(
                update(Signup)
                .execution_options(synchronize_session=False)
                .where(Signup.id == signup_id, Signup.attended.is_(None))
                .values(attended=False)
            ).rowcount
            if claimed != 1:
                continue
            signup = session.get(Signup, signup_id)
            session.refresh(signup)
            facts = signups.signup_facts(session, signup)
            ctx.emit(session, AttendanceRecorded(**facts, attended=False, how="no_show"), subject=signup.id)
            fired += 1
    return fired
