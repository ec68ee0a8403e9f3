"""Consent for an elder's health data, and the access log of sensitive reads (PIPL art. 29, 51).

Health data (conditions, notes, the emergency phone) is kept only while a consent is current: it is
refused without one (409 ``consent_required``) and erased when the last consent is withdrawn. Every
answer that shows health data or a full phone records who read which field group of whom, and why,
in ``access_log`` (never the values).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from services.volunteers.adapters.orm import Elder, HealthConsent, LogRevision, VisitLog, access_log
from services.volunteers.service_layer import scope
from services.volunteers.service_layer.scope import Reach
from shared.clock import as_utc, shown
from shared.db.lookup import get_or_404
from shared.errors import Conflict, Invalid
from shared.identity import Principal
from shared.ids import new_id
from shared.privacy import access_row
from shared.web.pages import Page, PageQuery, keyset, page_of

HEALTH_FIELDS = ("conditions", "notes", "emergency_phone")
"""What a consent covers; without a current consent these are empty."""
NO_CONSENT = "未取得健康信息使用同意，不能保存健康信息 / no current consent for health data: record the consent first"
RELATIONS = ("self", "guardian", "family")


def current(session: Session, elder_id: str) -> HealthConsent | None:
    """The elder's latest consent not withdrawn, if any."""
    return session.exec(
        select(HealthConsent)
        .where(HealthConsent.elder_id == elder_id, HealthConsent.withdrawn_at.is_(None))
        .order_by(HealthConsent.consented_at.desc(), HealthConsent.id.desc())
    ).first()


def has_health(values: dict[str, Any]) -> bool:
    return any(values.get(field) for field in HEALTH_FIELDS)


def require(session: Session, elder_id: str | None, values: dict[str, Any], given: bool = False) -> None:
    """409 ``consent_required`` when ``values`` hold health data and no consent is current (or ``given``)."""
    if has_health(values) and not given and (elder_id is None or current(session, elder_id) is None):
        raise Conflict(NO_CONSENT, code="consent_required")


def record(
    session: Session,
    r: Reach,
    elder: Elder,
    *,
    given_by: str,
    purpose: str,
    now: datetime,
    relation: str = "self",
    consented_at: datetime | None = None,
) -> HealthConsent:
    """Record a consent given by the elder (or her guardian or family) for ``purpose``."""
    if relation not in RELATIONS:
        raise Invalid(f"同意人关系应为 {', '.join(RELATIONS)} / relation must be one of {', '.join(RELATIONS)}")
    when = as_utc(consented_at or now)
    if when > now:
        raise Invalid("同意时间不能在将来 / a consent cannot be given in the future", code="consent_in_future")
    row = HealthConsent(
        id=new_id("HC"),
        elder_id=elder.id,
        given_by=given_by,
        relation=relation,
        purpose=purpose,
        consented_at=when,
        recorded_by=r.who.sub,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    return row


def give(session: Session, r: Reach, elder_id: str, *, now: datetime, **consent: Any) -> HealthConsent:
    """Record a consent for an elder the caller manages."""
    elder = scope.elder_in_reach(session, r, elder_id, manage=True)
    return record(session, r, elder, now=now, **consent)


def withdraw(session: Session, r: Reach, elder_id: str, consent_id: str, reason: str, now: datetime) -> HealthConsent:
    """Withdraw a consent; when none is left current, the elder's health data is erased."""
    elder = scope.elder_in_reach(session, r, elder_id, manage=True)
    row = get_or_404(session, HealthConsent, consent_id, "同意记录不存在 / no such consent")
    if row.elder_id != elder.id:
        raise Invalid("同意记录属于其他老人 / the consent belongs to another elder")
    if row.withdrawn_at is not None:
        raise Conflict("同意已撤回 / the consent is already withdrawn", code="consent_withdrawn")
    row.withdrawn_at, row.withdrawn_by, row.withdrawal_reason = now, r.who.sub, reason
    session.add(row)
    session.flush()
    if current(session, elder.id) is None:
        erase_health(elder)
        session.add(elder)
        erase_visit_notes(session, elder.id)
    return row


def set_health(session: Session, r: Reach, elder_id: str, values: dict[str, Any]) -> Elder:
    """Replace an elder's health data (those who manage her); 409 ``consent_required`` without a consent."""
    elder = scope.elder_in_reach(session, r, elder_id, manage=True)
    require(session, elder.id, values)
    elder.conditions, elder.notes = values.get("conditions") or "", values.get("notes") or ""
    elder.emergency_name, elder.emergency_phone = values.get("emergency_name"), values.get("emergency_phone")
    session.add(elder)
    return elder


def erase_health(elder: Elder) -> None:
    elder.conditions, elder.notes, elder.emergency_phone = "", "", None


def erase_visit_notes(session: Session, elder_id: str) -> int:
    """Visit logs' notes may hold health observations: without consent they go too, with the notes
    their amendments recorded before and after (the rest of each log stays: who visited, when, how long)."""
    logs = list(session.scalars(select(VisitLog).where(VisitLog.elder_id == elder_id)))
    for log in logs:
        log.notes = ""
        session.add(log)
    ids = [log.id for log in logs]
    revisions = list(session.scalars(select(LogRevision).where(LogRevision.log_id.in_(ids)))) if ids else []  # type: ignore[attr-defined]
    for rev in revisions:
        rev.before = {k: ("" if k == "notes" else v) for k, v in (rev.before or {}).items()}
        rev.after = {k: ("" if k == "notes" else v) for k, v in (rev.after or {}).items()}
        session.add(rev)
    return len(logs)


def consent_view(row: HealthConsent) -> dict[str, Any]:
    return {
        "id": row.id,
        "elder_id": row.elder_id,
        "given_by": row.given_by,
        "relation": row.relation,
        "purpose": row.purpose,
        "consented_at": shown(row.consented_at),
        "recorded_by": row.recorded_by,
        "recorded_at": shown(row.recorded_at),
        "withdrawn_at": shown(row.withdrawn_at),
        "withdrawn_by": row.withdrawn_by,
        "withdrawal_reason": row.withdrawal_reason,
        "current": row.withdrawn_at is None,
    }


def consents(session: Session, r: Reach, elder_id: str, page: PageQuery) -> Page[dict[str, Any]]:
    """An elder's consents, current and withdrawn, oldest first (for those who manage her)."""
    scope.elder_in_reach(session, r, elder_id, manage=True)
    query = select(HealthConsent).where(HealthConsent.elder_id == elder_id)
    rows = session.exec(keyset(query, [HealthConsent.recorded_at, HealthConsent.id], page)).all()
    return page_of(rows, page, key=lambda c: (c.recorded_at, c.id), view=consent_view)


# -- the access log ------------------------------------------------------------------------------
def log_read(
    session: Session,
    who: Principal,
    *,
    kind: str,
    subject_id: str,
    fields: Iterable[str],
    purpose: str,
    at: datetime,
    community: str | None,
) -> None:
    """Record that ``who`` was shown ``fields`` of a subject (skipped for a person reading their own)."""
    access_log.record(
        session,
        who,
        subject_kind=kind,
        subject_id=subject_id,
        fields=fields,
        purpose=purpose,
        at=at,
        community=community,
    )


def access_entries(
    session: Session, who: Principal, page: PageQuery, *, subject_kind: str | None = None, subject_id: str | None = None
) -> Page[dict[str, Any]]:
    """The access log as staff (their communities) and operators (all) may read it, newest first."""
    stmt = access_log.query(who, subject_kind=subject_kind, subject_id=subject_id)
    rows = session.execute(keyset(stmt, [access_log.table.c.id], page, descending=True)).all()
    return page_of(rows, page, key=lambda row: (row.id,), view=access_row)
