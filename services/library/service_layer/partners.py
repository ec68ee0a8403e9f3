"""Partner libraries: their BookReturned events (Redis or signed HTTPS), keys, and reject counts."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlmodel import Session

from services.library.adapters.orm import Branch, Copy, PartnerKey
from services.library.config import library_settings
from services.library.domain import signature
from services.library.service_layer import circulation
from shared.errors import DomainError, NotFound
from shared.events.envelope import CloudEvent
from shared.events.library import BookReturned
from shared.messaging.consumer import RejectEvent
from shared.messaging.streams import EVENT_FIELD


def source_of(code: str) -> str:
    """The CloudEvents ``source`` a partner must use: ``/partners/<CODE>``."""
    return f"/partners/{code}"


def known(code: str) -> str:
    """The code when it is a configured partner, else 404."""
    if code not in library_settings().partners:
        raise NotFound(f"没有这个合作馆 / no partner {code}", code="no_partner")
    return code


def apply_returned(
    ctx, session: Session, event: CloudEvent, data: BookReturned, partner: str | None = None
) -> circulation.Routed:
    """A partner reports one of our books returned at its desk: validate, then check it in there.

    ``partner`` is the partner whose ingress stream carried the event when the consumer tells us;
    otherwise the partner is the one named by ``source``. Raises :class:`RejectEvent` (dead letter,
    no effect) for a foreign source, a branch of another institution or an unknown barcode.
    """
    partners = library_settings().partners
    claimed = event.source.removeprefix("/partners/") if event.source.startswith("/partners/") else None
    if claimed not in partners or (partner is not None and claimed != partner):
        raise RejectEvent("wrong_source", f"source {event.source!r} is not {source_of(partner or '<CODE>')}")
    branch = session.get(Branch, data.branch)
    if branch is None or branch.institution != claimed:
        raise RejectEvent("foreign_branch", f"branch {data.branch!r} does not belong to {claimed}")
    if session.get(Copy, data.barcode) is None:
        raise RejectEvent("unknown_barcode", f"no copy with barcode {data.barcode!r}")
    try:
        return circulation.checkin(
            ctx, session, data.barcode, data.branch, causation=event, partner_event=True, returned_at=data.returned_at
        )
    except DomainError as exc:  # a state the partner cannot fix (withdrawn copy…)
        raise RejectEvent("not_applicable", exc.message) from None


# -- HTTPS ingress keys -----------------------------------------------------------------------------


def _master() -> bytes:
    from shared.config import get_settings

    return (library_settings().partner_secret_key or f"partner:{get_settings().pii_key}").encode()


def derive_secret(partner: str, key_id: str) -> str:
    """A partner's signing secret, derived from the service key: the store keeps only its SHA-256."""
    return hmac.new(_master(), f"{partner}:{key_id}".encode(), hashlib.sha256).hexdigest()


def issue_key(ctx, session: Session, partner: str) -> tuple[str, str]:
    """A new ``(key_id, secret)`` for a partner's HTTPS ingress; the secret is shown once."""
    known(partner)
    key_id = f"K{secrets.token_hex(6)}"
    secret = derive_secret(partner, key_id)
    session.add(
        PartnerKey(
            key_id=key_id,
            partner=partner,
            secret_hash=hashlib.sha256(secret.encode()).hexdigest(),
            created_at=ctx.clock.now(),
        )
    )
    return key_id, secret


def revoke_key(ctx, session: Session, partner: str, key_id: str) -> None:
    """Stop accepting signatures made with ``key_id``."""
    row = session.get(PartnerKey, key_id)
    if row is None or row.partner != partner:
        raise NotFound(f"没有这个密钥 / no key {key_id}")
    row.revoked_at = ctx.clock.now()
    session.add(row)


def check_signature(
    ctx, session: Session, partner: str, key_id: str | None, timestamp: str | None, body: bytes, sig: str | None
) -> None:
    """Verify ``X-Linli-Signature`` over ``<timestamp>.<body>`` within the replay window; raises on failure."""
    known(partner)
    window = library_settings().signature_window_s
    if not timestamp or not signature.within_window(timestamp, ctx.clock.now().timestamp(), window):
        raise Unauthorized(
            f"时间戳缺失或超出{window // 60}分钟窗口 / timestamp missing or outside the {window}s replay window",
            code="stale_timestamp",
        )
    keys = (
        session.execute(select(PartnerKey).where(PartnerKey.partner == partner, PartnerKey.revoked_at.is_(None)))
        .scalars()
        .all()
    )
    for row in keys:
        if key_id and row.key_id != key_id:
            continue
        secret = derive_secret(partner, row.key_id)
        if not hmac.compare_digest(hashlib.sha256(secret.encode()).hexdigest(), row.secret_hash):
            continue  # the service key changed since this key was issued
        if signature.verify(secret, timestamp, body, sig or ""):
            return
    raise Unauthorized("签名无效 / invalid signature")


class Unauthorized(DomainError):
    """A missing, stale or wrong signature (401)."""

    status = 401
    code = "bad_signature"


async def xadd_ingress(ctx, partner: str, body: bytes) -> str:
    """Put a signed body on the partner's ingress stream: the same validated, deduplicated path as Redis."""
    entry = await ctx.redis.xadd(
        ctx.names.partner_ingress(partner), {EVENT_FIELD: body}, maxlen=ctx.settings.stream_maxlen, approximate=True
    )
    return entry.decode() if isinstance(entry, bytes) else entry


async def reject_counts(ctx) -> dict[str, dict]:
    """Invalid events per partner, counted from the dead-letter stream (envelope, schema and rule rejects)."""
    streams = {ctx.names.partner_ingress(code): code for code in library_settings().partners}
    counts = {code: {"total": 0, "reasons": {}} for code in streams.values()}
    last = "-"
    while True:
        batch = await ctx.redis.xrange(ctx.names.dead_letter, min=last, max="+", count=1000)
        if last != "-":
            batch = batch[1:]
        if not batch:
            break
        for entry_id, fields in batch:
            code = streams.get((fields.get(b"stream") or b"").decode())
            if code is not None:
                reason = (fields.get(b"reason") or b"?").decode()
                counts[code]["total"] += 1
                counts[code]["reasons"][reason] = counts[code]["reasons"].get(reason, 0) + 1
            last = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return counts


async def listing(ctx) -> list[dict]:
    """The configured partners by code: their source, streams and reject counts."""
    counts = await reject_counts(ctx)
    return [
        {
            "code": code,
            "source": source_of(code),
            "ingress": ctx.names.partner_ingress(code),
            "egress": ctx.names.partner_egress(code),
            "rejected": counts[code],
        }
        for code in sorted(library_settings().partners)
    ]
