"""Open311 API keys: shown once at creation, stored as SHA-256, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlmodel import Session, col, select

from services.tickets.adapters.orm import ApiKey
from shared.db.lookup import get_or_404
from shared.ids import new_id


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create(session: Session, name: str, now: datetime) -> tuple[ApiKey, str]:
    """A new key for client ``name``; returns the row and the plain key (never stored)."""
    plain = "o311_" + secrets.token_urlsafe(24)
    row = ApiKey(id=new_id()[:8], name=name, key_hash=_hash(plain), created_at=now)
    session.add(row)
    return row, plain


def revoke(session: Session, key_id: str, now: datetime) -> ApiKey:
    row = get_or_404(session, ApiKey, key_id, f"密钥不存在 / no API key {key_id}")
    row.revoked_at = row.revoked_at or now
    session.add(row)
    return row


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.created_at))).all())


def check(session: Session, plain: str | None) -> ApiKey | None:
    """The active key matching ``plain``, else ``None``."""
    if not plain:
        return None
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == _hash(plain))).first()
    return row if row is not None and row.revoked_at is None else None
