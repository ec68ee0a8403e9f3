"""Keeping the least: challenges are kept a day (rate limits look back an hour), ended sessions 30 days."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlmodel import Session

from services.accounts.adapters.orm import CodeChallenge, PhoneLock, RefreshToken, SignInSession


def purge(s: Session, now: datetime) -> int:
    """Delete what no rule needs any more; deleting twice (two replicas) deletes nothing more."""
    ended = now - timedelta(days=30)
    gone = s.execute(delete(CodeChallenge).where(CodeChallenge.created_at < now - timedelta(days=1))).rowcount  # type: ignore[attr-defined]
    gone += s.execute(delete(PhoneLock).where(PhoneLock.until < now)).rowcount  # type: ignore[attr-defined]
    old = select(SignInSession.id).where(
        or_(SignInSession.expires_at < now, SignInSession.revoked_at < ended)  # type: ignore[operator]
    )
    gone += s.execute(delete(RefreshToken).where(RefreshToken.session_id.in_(old))).rowcount  # type: ignore[attr-defined]
    gone += s.execute(
        delete(SignInSession).where(or_(SignInSession.expires_at < ended, SignInSession.revoked_at < ended))  # type: ignore[operator]
    ).rowcount  # type: ignore[attr-defined]
    return int(gone or 0)
