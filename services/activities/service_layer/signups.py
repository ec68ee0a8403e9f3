"""Sign-ups: a place or the waitlist, cancellation, offers to the next in line, attendance at the door.

Every change that counts places first locks the activity's row (``FOR UPDATE``; on SQLite every
transaction already holds the write lock), so two sign-ups can never both take the last place and a
freed place is offered once, whichever replica frees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, Table, bindparam, func, insert, select, update
from sqlmodel import Session

from services.activities.adapters.orm import Activity, Signup, Venue
from services.activities.config import activities_settings
from services.activities.domain import checkin, eligibility
from services.activities.service_layer.programme import ACTIVE, HOLDING, activity, facts, may_run
from services.activities.service_layer.programme import MISSING as PROGRAMME_MISSING
from shared.clock import as_utc
from shared.db.driver import fetch, insert_rows, write
from shared.db.lookup import get_or_404
from shared.errors import Conflict, Invalid, NotFound
from shared.events.activities import (
    AttendanceRecorded,
    SignupCancelled,
    SignupConfirmed,
    SignupWaitlisted,
    SpotOffered,
)
from shared.identity import Principal
from shared.ids import new_id
from shared.service import ServiceContext

MISSING = "报名不存在 / no such sign-up"
WINDOW = {
    "not_open_yet": "报名尚未开始 / sign-ups are not open yet",
    "closed": "报名已截止 / sign-ups are closed",
}
AGES = {
    "age_required": "请填写参加者年龄 / give the participant's age",
    "age_out_of_range": "年龄不在活动范围内 / the age is outside the activity's range",
}


def household_of(who: Principal) -> str:
    """The household a resident acts for (their own account when the token names none)."""
    return who.household or who.sub


def signup_facts(session: Session, signup: Signup, row: Activity | None = None) -> dict[str, Any]:
    row = row or activity(session, signup.activity_id)
    return {
        **facts(session, row),
        "signup_id": signup.id,
        "user": signup.user,
        "for_child": signup.participant != "self",
    }


@dataclass(frozen=True)
class Placed:
    """A new sign-up as :func:`sign_up` stored it, with what its answer shows of the session."""

    signup: dict[str, Any]  # the stored row's values, every column (no ORM object: nothing to flush)
    title: str
    starts_at: datetime
    waiting_ahead: int | None  # waitlisted: how many wait ahead of it


def sign_up(
    ctx: ServiceContext,
    session: Session,
    who: Principal,
    activity_id: str,
    *,
    participant: str = "self",
    age: int | None = None,
    guardian: bool = False,
) -> Placed:
    """Take a place for the caller or a child of their household, or join the waitlist when it is full.

    The busiest write of the service: its reads are statements built once, run through the driver on SQLite
    (:func:`shared.db.driver.fetch`), and it writes rows, not ORM objects: the sign-up's INSERT, the
    activity's next queue position, the event in the outbox (one transaction, the activity locked first).
    """
    connection = session.connection()
    found = fetch(connection, _PLACE, {"activity_id": activity_id})
    if not found:
        raise NotFound(PROGRAMME_MISSING)
    (row,) = found
    now = ctx.clock.now()
    if row.status != "published":
        raise Conflict("活动已取消 / the activity is cancelled", code="activity_cancelled")
    problem = eligibility.window_problem(
        now,
        as_utc(row.signup_opens) if row.signup_opens else None,
        as_utc(row.signup_closes) if row.signup_closes else None,
        as_utc(row.starts_at),
    )
    if problem:
        raise Conflict(WINDOW[problem], code=f"signup_{problem}")
    problem = eligibility.age_problem(age, row.min_age, row.max_age)
    if problem:
        raise Conflict(AGES[problem], code=problem)
    if eligibility.needs_guardian(age, row.guardian_under) and not guardian:  # no room: no guardian rule
        raise Conflict(
            f"{row.guardian_under} 岁以下儿童需由监护人陪同 / children under {row.guardian_under} come with a guardian",
            code="guardian_required",
        )
    household = household_of(who)
    params = {"activity_id": row.id, "household": household, "participant": participant}
    ((held, waiting, entries, same),) = fetch(connection, _ENTRIES, params)  # type: ignore[misc]
    if same:
        raise Conflict("已经报过名了 / already signed up", code="already_signed_up")
    if row.household_limit is not None and entries >= row.household_limit:
        raise Conflict(
            f"每户最多报名 {row.household_limit} 人 / at most {row.household_limit} per household",
            code="household_limit",
        )
    _check_no_shows(session, household, now)
    status = "confirmed" if held < row.capacity else "waitlisted"
    values = {
        **_SIGNUP_DEFAULTS,
        "id": new_id("G"),
        "activity_id": row.id,
        "user": who.sub,
        "household": household,
        "participant": participant,
        "age": age,
        "guardian": guardian,
        "status": status,
        "position": row.next_position,
        "created_at": now,
    }
    if not insert_rows(connection, _SIGNUP_TABLE, [values]):  # not SQLite: through SQLAlchemy's Core
        connection.execute(insert(_SIGNUP_TABLE), values)
    write(connection, _NEXT_POSITION, {"activity": row.id})
    base = {
        "activity_id": row.id,
        "title": row.title,
        "community": row.community,
        "venue_id": row.venue_id,
        "venue_name": row.venue_name,
        "starts_at": row.starts_at,
        "signup_id": values["id"],
        "user": who.sub,
        "for_child": participant != "self",
    }
    if status == "confirmed":
        ctx.emit(session, SignupConfirmed(**base), subject=values["id"])
    else:  # everyone waiting came before it (the activity is locked): as many are ahead in the queue
        ctx.emit(session, SignupWaitlisted(**base, waiting_ahead=waiting), subject=values["id"])
    return Placed(values, row.title, row.starts_at, waiting if status == "waitlisted" else None)


def _check_no_shows(session: Session, household: str, now: datetime) -> None:
    settings = activities_settings()
    if settings.no_show_limit <= 0:
        return
    since = now - timedelta(days=settings.no_show_days)
    ((missed,),) = fetch(session.connection(), _NO_SHOWS, {"household": household, "since": since})
    if missed >= settings.no_show_limit:
        raise Conflict(
            f"近 {settings.no_show_days} 天缺席 {missed} 次，暂不能报名 / too many no-shows lately",
            code="no_show_limit",
        )


_ACTIVITY_TABLE: Table = Activity.__table__  # type: ignore[attr-defined]
_SIGNUP_TABLE: Table = Signup.__table__  # type: ignore[attr-defined]
_VENUE_TABLE: Table = Venue.__table__  # type: ignore[attr-defined]
_SIGNUP_DEFAULTS = {
    "offered_until": None,
    "reminded_at": None,
    "attended": None,
    "checked_in_at": None,
    "closed_at": None,
}
"""The columns a new sign-up leaves empty (every column is given: the INSERT goes to the driver as it is)."""


def _place() -> Select[Any]:
    a, v = _ACTIVITY_TABLE, _VENUE_TABLE
    columns = ("id", "status", "title", "community", "venue_id", "starts_at", "signup_opens", "signup_closes")
    rules = ("min_age", "max_age", "household_limit", "capacity", "next_position")
    return (
        select(*(a.c[c] for c in (*columns, *rules)), v.c.name.label("venue_name"), v.c.guardian_under)
        .select_from(a.outerjoin(v, v.c.id == a.c.venue_id))
        .where(a.c.id == bindparam("activity_id"))
        .with_for_update(of=a)
    )


_PLACE = _place()
"""The activity locked for a sign-up (``FOR UPDATE OF activity`` on PostgreSQL; on SQLite the transaction holds
the write lock) with its room's name and guardian age: one statement, built once."""

_NEXT_POSITION = (
    update(_ACTIVITY_TABLE)
    .where(_ACTIVITY_TABLE.c.id == bindparam("activity"))
    .values(next_position=_ACTIVITY_TABLE.c.next_position + 1)
)
"""The next sign-up's place in the queue (the row is locked: no two sign-ups take the same one)."""


_NO_SHOWS = (
    select(func.count().label("missed"))
    .select_from(_SIGNUP_TABLE.join(_ACTIVITY_TABLE, _ACTIVITY_TABLE.c.id == _SIGNUP_TABLE.c.activity_id))
    .where(_SIGNUP_TABLE.c.household == bindparam("household"), _SIGNUP_TABLE.c.attended.is_(False))
    .where(_ACTIVITY_TABLE.c.starts_at >= bindparam("since"))
)
"""A household's missed sessions since then (built once: every sign-up asks)."""


def _entries() -> Select[Any]:
    s = _SIGNUP_TABLE
    at = s.c.activity_id == bindparam("activity_id")
    held = select(func.count()).select_from(s).where(at, s.c.status.in_(HOLDING))
    waiting = select(func.count()).select_from(s).where(at, s.c.status == "waitlisted")
    household = select(func.count()).select_from(s).where(s.c.household == bindparam("household"), at)
    household = household.where(s.c.status.in_(ACTIVE))
    same = household.where(s.c.participant == bindparam("participant"))
    return select(
        held.scalar_subquery().label("held"),
        waiting.scalar_subquery().label("waiting"),
        household.scalar_subquery().label("entries"),
        same.scalar_subquery().label("same"),
    )


_ENTRIES = _entries()
"""What a sign-up counts once the activity is locked, in one statement (built once): the places held, how many
wait, the household's entries (places and queue alike) and whether the participant is among them. Each count
reads its own index: the held places and the queue ``ix_signup_queue`` (the queue's length only, with no
expression per entry), the household's ``ix_signup_household_activity``."""


def _count(session: Session, activity_id: str, statuses: tuple[str, ...]) -> int:
    return int(session.execute(_count_query(tuple(statuses)), {"activity_id": activity_id}).scalar_one())


@lru_cache(maxsize=8)
def _count_query(statuses: tuple[str, ...]) -> Select[tuple[int]]:
    """Built once per set of statuses: building it per sign-up cost more than running it (docs/benchmarks.md)."""
    return (
        select(func.count())
        .select_from(Signup)
        .where(Signup.activity_id == bindparam("activity_id"), Signup.status.in_(statuses))
    )


def own(session: Session, who: Principal, signup_id: str) -> Signup:
    """A sign-up of the caller's household, or of an activity the caller runs."""
    signup = get_or_404(session, Signup, signup_id, MISSING)
    if signup.household == household_of(who) or signup.user == who.sub:
        return signup
    if may_run(who, activity(session, signup.activity_id)):
        return signup
    raise NotFound(MISSING)


def cancel(ctx: ServiceContext, session: Session, who: Principal, signup_id: str) -> Signup:
    """Give up a place or leave the waitlist; a place freed goes to the next in line as an offer."""
    signup = own(session, who, signup_id)
    return close(ctx, session, signup, "cancelled")


def decline(ctx: ServiceContext, session: Session, who: Principal, signup_id: str) -> Signup:
    """Say no to an offered place; it goes to the next in line."""
    signup = own(session, who, signup_id)
    if signup.status != "offered":
        raise Conflict("没有待确认的名额 / no place is offered to this sign-up", code="not_offered")
    return close(ctx, session, signup, "offer_declined")


def close(ctx: ServiceContext, session: Session, signup: Signup, reason: str, *, expected: str | None = None) -> Signup:
    """End a sign-up by a conditional update (so two replicas or two clicks end it once), then refill."""
    row = activity(session, signup.activity_id, for_update=True)
    session.refresh(signup)  # as it is now that the activity is ours
    allowed = (expected,) if expected else ACTIVE
    held = signup.status in HOLDING
    now = ctx.clock.now()
    ended = session.execute(
        update(Signup)
        .execution_options(synchronize_session=False)
        .where(Signup.id == signup.id, Signup.status.in_(allowed))
        .values(status=_closed(reason), closed_at=now)
    ).rowcount
    if ended != 1:
        raise Conflict("报名已结束 / the sign-up has already ended", code="signup_closed")
    session.refresh(signup)
    ctx.emit(session, SignupCancelled(**signup_facts(session, signup, row), reason=reason), subject=signup.id)
    if held:
        refill(ctx, session, row, now)
    return signup


def _closed(reason: str) -> str:
    return "expired" if reason == "offer_expired" else "cancelled"


def refill(ctx: ServiceContext, session: Session, row: Activity, now: datetime) -> int:
    """Offer free places to the first on the waitlist, each with a deadline; ``row`` is locked by the caller."""
    if row.status != "published" or as_utc(row.starts_at) <= now:
        return 0
    settings = activities_settings()
    accept_by = min(now + timedelta(hours=settings.offer_hours), as_utc(row.starts_at))
    free = row.capacity - _count(session, row.id, HOLDING)
    offered = 0
    while free > 0:
        nxt = session.execute(
            select(Signup)
            .where(Signup.activity_id == row.id, Signup.status == "waitlisted")
            .order_by(Signup.position)
            .limit(1)
        ).scalar_one_or_none()
        if nxt is None:
            break
        nxt.status, nxt.offered_until = "offered", accept_by
        session.add(nxt)
        session.flush()
        ctx.emit(session, SpotOffered(**signup_facts(session, nxt, row), accept_by=accept_by), subject=nxt.id)
        free -= 1
        offered += 1
    return offered


def accept(ctx: ServiceContext, session: Session, who: Principal, signup_id: str) -> Signup:
    """Take an offered place before its deadline."""
    signup = own(session, who, signup_id)
    row = activity(session, signup.activity_id, for_update=True)
    now = ctx.clock.now()
    taken = session.execute(
        update(Signup)
        .execution_options(synchronize_session=False)
        .where(Signup.id == signup.id, Signup.status == "offered", Signup.offered_until > now)
        .values(status="confirmed", offered_until=None)
    ).rowcount
    if taken != 1:
        raise Conflict("名额已过期或未提供 / no place is offered, or the offer has expired", code="not_offered")
    session.refresh(signup)
    ctx.emit(session, SignupConfirmed(**signup_facts(session, signup, row), from_waitlist=True), subject=signup.id)
    return signup


def code(ctx: ServiceContext, signup: Signup) -> str | None:
    """The check-in code of a confirmed place (what the QR holds)."""
    return checkin.code_for(signup.id, ctx.settings.pii_key) if signup.status == "confirmed" else None


def checkin_code(ctx: ServiceContext, session: Session, who: Principal, signup_id: str) -> str:
    """The check-in code of one of the caller's sign-ups, for its QR; 409 ``no_checkin_code`` unless it holds a
    confirmed place (a waitlisted or cancelled sign-up has nothing to show at the door)."""
    found = code(ctx, own(session, who, signup_id))
    if found is None:
        raise Conflict(
            "只有已确认的名额才有签到码 / only a confirmed place has a check-in code", code="no_checkin_code"
        )
    return found


def check_in(ctx: ServiceContext, session: Session, who: Principal, scanned: str) -> Signup:
    """The door scan: a genuine code of a confirmed place of an activity the caller runs, once."""
    signup_id = checkin.verified(scanned, ctx.settings.pii_key)
    if signup_id is None:
        raise Invalid("签到码无效 / not a valid check-in code", code="bad_checkin_code")
    signup = get_or_404(session, Signup, signup_id, MISSING)
    row = activity(session, signup.activity_id)
    if not may_run(who, row):
        raise NotFound(MISSING)
    if signup.status != "confirmed":
        raise Conflict("该报名没有名额 / this sign-up holds no place", code="no_place")
    return record(ctx, session, signup, True, "scan", row)


def mark(ctx: ServiceContext, session: Session, who: Principal, signup_id: str, attended: bool) -> Signup:
    """Staff or the organiser tick the roster by hand (a phone left at home)."""
    signup = own(session, who, signup_id)
    row = activity(session, signup.activity_id)
    if not may_run(who, row):
        raise NotFound(MISSING)
    if signup.status != "confirmed":
        raise Conflict("该报名没有名额 / this sign-up holds no place", code="no_place")
    return record(ctx, session, signup, attended, "staff", row)


def record(ctx: ServiceContext, session: Session, signup: Signup, attended: bool, how: str, row: Activity) -> Signup:
    """Record attendance once (a second scan of the same code is refused)."""
    now = ctx.clock.now()
    values: dict[str, Any] = {"attended": attended, "checked_in_at": now if attended else None}
    won = session.execute(
        update(Signup)
        .execution_options(synchronize_session=False)
        .where(Signup.id == signup.id, Signup.attended.is_not(True))
        .values(**values)
    ).rowcount
    if won != 1:
        raise Conflict("已经签到 / already checked in", code="already_checked_in")
    session.refresh(signup)
    ctx.emit(
        session, AttendanceRecorded(**signup_facts(session, signup, row), attended=attended, how=how), subject=signup.id
    )
    return signup
