"""Signing in by phone and one-time code; sessions, refresh-token rotation, sign-out.

Rules (``ACCOUNTS_*``): a code is 6 digits, kept only as a keyed hash, valid 5 minutes, one per phone a
minute and 5 an hour, 30 an hour per client address. Five wrong codes for a phone within an hour lock
that phone for 15 minutes. A number not in the register gets the same answer as one that is (no code is
sent), so the route cannot be used to find out who lives here.

A refresh token is used once: refreshing returns a new one and marks the old one used. Presenting a used
one again means it was copied, so the whole session (its family of tokens) is revoked at once.

The use cases that must record a failure (a wrong code counts, a reused token revokes) return a
:class:`Refusal` instead of raising, so that their transaction commits; the route raises it after.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, func, select, update
from sqlmodel import Session

from services.accounts.adapters.orm import CodeChallenge, Person, PhoneLock, RefreshToken, RoleGrant, SignInSession
from services.accounts.config import accounts_settings
from services.accounts.domain import phones
from services.accounts.domain.claims import Grant, claims_for
from services.accounts.service_layer import keys, register
from shared.db.driver import fetch, flushed, insert_row, write
from shared.errors import DomainError, Invalid, NotFound
from shared.ids import new_id
from shared.pii import keyed_hash


class TooMany(DomainError):
    """Too many requests or wrong codes for now (429)."""

    status = 429
    code = "too_many"


class SignInRefused(DomainError):
    """A code or refresh token that does not sign in (401)."""

    status = 401
    code = "signin_refused"


@dataclass
class Refusal:
    """A refusal whose effects (an attempt counted, a session revoked) must commit."""

    error: DomainError


@dataclass
class Issued:
    """A code to send to ``phone`` once the transaction commits (``None`` for a number not in the register)."""

    phone: str
    code: str | None
    expires_at: datetime


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str


def _phone(value: str) -> str:
    try:
        return phones.normalise(value)
    except phones.InvalidPhone as exc:
        raise Invalid(str(exc), code="bad_phone") from None


def client_hash(address: str | None) -> str:
    return keyed_hash(f"client:{address or '-'}")


def _code_hash(challenge_id: str, code: str) -> str:
    return keyed_hash(f"code:{challenge_id}:{code}")


_locks: Table = PhoneLock.__table__  # type: ignore[attr-defined]
_challenges: Table = CodeChallenge.__table__  # type: ignore[attr-defined]
_people: Table = Person.__table__  # type: ignore[attr-defined]
_grants: Table = RoleGrant.__table__  # type: ignore[attr-defined]
_sessions: Table = SignInSession.__table__  # type: ignore[attr-defined]
_refresh_tokens: Table = RefreshToken.__table__  # type: ignore[attr-defined]

_LOCK_UNTIL = select(_locks.c.until).where(_locks.c.phone_hash == bindparam("digest"))
"""Until when a phone is locked (statements of the sign-in built once: building one cost more than running it)."""


def _locked(s: Session, digest: str, now: datetime) -> bool:
    """Whether the phone is locked now (read first thing in a unit of work: nothing is pending to flush)."""
    lock = fetch(s.connection(), _LOCK_UNTIL, {"digest": digest})
    return bool(lock) and _aware(lock[0].until) > now


def _aware(moment: datetime) -> datetime:
    """SQLite gives stored times back without their zone; they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def request_code(s: Session, phone: str, client: str | None, now: datetime) -> Issued:
    """Record a challenge for ``phone`` and return the code to send, or refuse (429) past the limits."""
    config = accounts_settings()
    number = _phone(phone)
    digest, from_client = register.phone_hash(number), client_hash(client)
    if _locked(s, digest, now):
        raise TooMany(
            "错误次数过多，请稍后再试 / too many wrong codes: this phone is locked for now", code="phone_locked"
        )

    def count(column, value, since: datetime) -> int:
        return (
            s.scalar(
                select(func.count())
                .select_from(CodeChallenge)
                .where(column == value, CodeChallenge.created_at >= since)
            )
            or 0
        )

    if count(CodeChallenge.phone_hash, digest, now - timedelta(seconds=config.phone_gap_s)):
        raise TooMany("请稍后再获取验证码 / wait a minute before asking for another code", code="code_too_soon")
    if count(CodeChallenge.phone_hash, digest, now - timedelta(hours=1)) >= config.phone_per_hour:
        raise TooMany("该手机号获取验证码过于频繁 / too many codes for this phone this hour", code="phone_rate")
    if count(CodeChallenge.client_hash, from_client, now - timedelta(hours=1)) >= config.client_per_hour:
        raise TooMany("请求过于频繁 / too many codes from this address this hour", code="client_rate")
    known = s.scalars(select(Person.id).where(Person.phone_hash == digest, Person.left_at.is_(None))).first()  # type: ignore[union-attr]
    code = f"{secrets.randbelow(1_000_000):06d}"
    challenge = CodeChallenge(
        id=new_id("C"),
        phone_hash=digest,
        client_hash=from_client,
        code_hash="",
        created_at=now,
        expires_at=now + timedelta(seconds=config.code_ttl_s),
    )
    challenge.code_hash = _code_hash(challenge.id, code) if known else secrets.token_hex(32)
    s.add(challenge)
    return Issued(phone=number, code=code if known else None, expires_at=challenge.expires_at)


_LATEST_CHALLENGE = (
    select(_challenges.c.id, _challenges.c.code_hash, _challenges.c.expires_at)
    .where(_challenges.c.phone_hash == bindparam("digest"), _challenges.c.used_at.is_(None))
    .order_by(_challenges.c.created_at.desc(), _challenges.c.id.desc())
    .limit(1)
    .with_for_update()
)
"""A phone's latest unused code (locked on PostgreSQL until the transaction ends)."""
_SPEND = update(_challenges).where(_challenges.c.id == bindparam("challenge")).values(used_at=bindparam("now"))
"""A code used: it never signs in again."""


_PERSON_BY_PHONE = select(
    _people.c.id, _people.c.sub, _people.c.name, _people.c.household_id, _people.c.community
).where(_people.c.phone_hash == bindparam("digest"), _people.c.left_at.is_(None))
"""The person still registered with a phone: what their token says of them."""


class Holder(Protocol):
    """What a session's tokens need of the person they sign in: a :class:`Person`, or a row read of one."""

    @property
    def id(self) -> str: ...
    @property
    def sub(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def household_id(self) -> str | None: ...
    @property
    def community(self) -> str | None: ...


def verify_code(s: Session, phone: str, code: str, client: str | None, now: datetime) -> Tokens | Refusal:
    """Sign in with the latest code sent to ``phone``: tokens, or a refusal whose attempt is counted."""
    config = accounts_settings()
    number = _phone(phone)
    digest = register.phone_hash(number)
    if _locked(s, digest, now):
        return Refusal(
            TooMany(
                "错误次数过多，请稍后再试 / too many wrong codes: this phone is locked for now", code="phone_locked"
            )
        )
    connection = s.connection()
    latest = fetch(connection, _LATEST_CHALLENGE, {"digest": digest})
    wrong = SignInRefused("验证码错误或已过期 / wrong or expired code", code="wrong_code")
    if not latest or _aware(latest[0].expires_at) <= now:
        return Refusal(wrong)
    found = latest[0]
    if not hmac.compare_digest(found.code_hash, _code_hash(found.id, code)):
        challenge = s.get(CodeChallenge, found.id)  # a wrong code: counted on the row (already locked)
        assert challenge is not None
        challenge.attempts += 1
        since = now - timedelta(seconds=config.lock_window_s)
        failures = s.scalar(
            select(func.coalesce(func.sum(CodeChallenge.attempts), 0)).where(
                CodeChallenge.phone_hash == digest, CodeChallenge.created_at >= since
            )
        )
        if (failures or 0) >= config.code_attempts:  # the query flushed this attempt first
            _lock(s, digest, now + timedelta(seconds=config.lock_s))
            challenge.used_at = now
            return Refusal(
                TooMany(
                    "错误次数过多，该手机号已锁定 / too many wrong codes: this phone is locked", code="phone_locked"
                )
            )
        return Refusal(wrong)
    write(connection, _SPEND, {"challenge": found.id, "now": now})
    person = fetch(connection, _PERSON_BY_PHONE, {"digest": digest})
    if not person:
        return Refusal(wrong)
    return open_session(s, person[0], client, now)


def _lock(s: Session, digest: str, until: datetime) -> None:
    lock = s.get(PhoneLock, digest)
    if lock is None:
        s.add(PhoneLock(phone_hash=digest, until=until))
    else:
        lock.until = until


def _refresh_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _store(s: Session, table: Table, model: type[Any], row: dict[str, Any]) -> None:
    """Insert ``row`` through the sqlite3 driver, or (on PostgreSQL) as ``model`` through the session.

    Pending changes are flushed first, so that the rows reach the database in the order they were made."""
    if insert_row(flushed(s), table, row) is None:
        s.add(model(**row))
        s.flush()


def open_session(s: Session, person: Holder, client: str | None, now: datetime) -> Tokens:
    config = accounts_settings()
    session_id = new_id("S")
    row = {
        "id": session_id,
        "person_id": person.id,
        "client": (client or None) and client[:120],
        "created_at": now,
        "last_used_at": now,
        "expires_at": now + timedelta(days=config.refresh_ttl_days),
        "revoked_at": None,
        "revoked_reason": None,
    }
    _store(s, _sessions, SignInSession, row)
    return _tokens(s, person, session_id, now)


def _tokens(s: Session, person: Holder, session_id: str, now: datetime) -> Tokens:
    refresh = secrets.token_urlsafe(32)
    row = {"token_hash": _refresh_hash(refresh), "session_id": session_id, "issued_at": now, "used_at": None}
    _store(s, _refresh_tokens, RefreshToken, row)
    return Tokens(
        access_token=keys.sign(s, access_claims(s, person) | {"sid": session_id}, now),
        refresh_token=refresh,
        expires_in=accounts_settings().access_ttl_s,
        session_id=session_id,
    )


_CLAIMED_GRANTS = (
    select(_grants.c.role, _grants.c.community, _grants.c.team, _grants.c.institution)
    .where(_grants.c.person_id == bindparam("person_id"))
    .order_by(_grants.c.id)
)
"""A person's grants as their token states them (as ``register.grants_of`` orders them)."""


def access_claims(s: Session, person: Holder) -> dict[str, object]:
    """The claims of ``person``'s access token (pending changes flushed first: the grants are read as stored)."""
    s.flush()
    rows = fetch(s.connection(), _CLAIMED_GRANTS, {"person_id": person.id})
    grants = [Grant(g.role, g.community, g.team, g.institution) for g in rows]
    return claims_for(person.sub, person.name, person.household_id, person.community, grants)


def refresh(s: Session, token: str, now: datetime) -> Tokens | Refusal:
    """Rotate a refresh token; a second use of a rotated one revokes its whole session."""
    refused = SignInRefused("登录已失效，请重新登录 / this sign-in is no longer valid", code="refresh_refused")
    row = s.get(RefreshToken, _refresh_hash(token), with_for_update=True)
    if row is None:
        return Refusal(refused)
    session = s.get(SignInSession, row.session_id, with_for_update=True)
    if session is None or session.revoked_at is not None or _aware(session.expires_at) <= now:
        return Refusal(refused)
    if row.used_at is not None:
        session.revoked_at, session.revoked_reason = now, "reuse"
        return Refusal(
            SignInRefused(
                "令牌已被使用，登录已注销 / refresh token reused: the session is revoked", code="refresh_reused"
            )
        )
    person = s.get(Person, session.person_id)
    if person is None or person.left_at is not None or person.erased_at is not None:
        return Refusal(refused)
    row.used_at = now
    session.last_used_at = now
    return _tokens(s, person, session.id, now)


def sign_out(s: Session, token: str, now: datetime) -> bool:
    """Revoke the session of a refresh token (a token already revoked or unknown changes nothing)."""
    row = s.get(RefreshToken, _refresh_hash(token))
    session = s.get(SignInSession, row.session_id, with_for_update=True) if row is not None else None
    if session is None or session.revoked_at is not None:
        return False
    session.revoked_at, session.revoked_reason = now, "signed_out"
    return True


def revoke_session(s: Session, person_id: str, session_id: str, now: datetime) -> SignInSession:
    session = s.get(SignInSession, session_id, with_for_update=True)
    if session is None or session.person_id != person_id:
        raise NotFound("会话不存在 / no such session")
    if session.revoked_at is None:
        session.revoked_at, session.revoked_reason = now, "revoked"
    return session
