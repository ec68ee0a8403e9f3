"""Erasing a person from notify (``ResidentErased``): nothing of theirs is needed for statistics.

Their recipient row (name, channels with addresses and bot keys, hours), their in-app messages,
their deliveries with the attempt log (providers' answers may name the address) and their follows are
deleted. Events naming them may still be on their way (a sign-up confirmed a moment before the
erasure, a replay of an old stream): a tombstone recipient ``erased:<keyed hash of the sub>`` (no name,
no channel, nothing readable back to the sub without ``LINLI_PII_KEY``) makes routing skip them for good.
Recipients change through the ORM, so routing's cached directory reloads (``ConfigVersion``). Routing
never addresses the shared tombstone either, so events about an anonymised ticket reach nobody.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlmodel import Session

from services.notify.adapters.orm import Delivery, DeliveryAttempt, Follower, Notification, Recipient
from shared.erasure import ERASED_TEXT, TOMBSTONE
from shared.pii import keyed_hash

ERASED_ROLE = "erased"


def erased_key(sub: str) -> str:
    """The tombstone recipient's id for an erased ``sub``."""
    return "erased:" + keyed_hash(f"notify-recipient:{sub}")


def is_erased(session: Session, uid: str) -> bool:
    """Whether ``uid`` is the tombstone or belongs to an erased person (routing caches the answer)."""
    return uid == TOMBSTONE or session.get(Recipient, erased_key(uid)) is not None


def erase_person(session: Session, sub: str) -> int:
    """Delete everything notify keeps for ``sub``; the number of rows deleted."""
    changed = 0
    person = session.get(Recipient, sub)
    if person is not None:
        session.delete(person)
        session.flush()
        changed += 1
    if session.get(Recipient, erased_key(sub)) is None:
        session.add(Recipient(user_id=erased_key(sub), display_name=ERASED_TEXT, roles=ERASED_ROLE, channels=[]))
        session.flush()
    for model, column in (
        (DeliveryAttempt, DeliveryAttempt.recipient),
        (Delivery, Delivery.recipient),
        (Notification, Notification.recipient),
        (Follower, Follower.user_id),
    ):
        changed += _count(session.execute(delete(model).where(column == sub)))  # type: ignore[arg-type]
    return changed


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
