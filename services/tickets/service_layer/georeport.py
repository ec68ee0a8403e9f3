"""Open311 GeoReport v2: the spec's documents (services, definitions, requests) and the request a client files.

Public reads show the anonymised view (no reporter, no contact fields); the history is the ``notes``
extension, with staff's status notes only (no names). A private ticket (from a volunteer's home visit,
or of a category inside a home) shows its community only: no address, coordinates, description,
photo or notes (``services/tickets/domain/disclosure.py``). Refusals are raised as ``shared.errors``
kinds whose status is the GeoReport error code (400, 403, 404); the edge answers them as RFC 9457
problems.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from dateutil.parser import isoparse
from pydantic import JsonValue
from sqlmodel import Session, col, select

from services.tickets.adapters.orm import Category, Ticket
from services.tickets.domain.attributes import AttributeDef
from services.tickets.domain.lifecycle import OPEN_STATES, open311_status
from services.tickets.service_layer import apikeys, categories, reports
from services.tickets.service_layer.common import media_path
from services.tickets.service_layer.scope import is_private
from services.tickets.service_layer.views import PRIVATE_DESCRIPTION, history_of, photos_of, public_note
from shared.clock import as_utc, shown
from shared.db.clauses import one_of
from shared.errors import DomainError, Forbidden, Invalid, NotFound
from shared.pii import mask_phone
from shared.service import ServiceContext
from shared.web.fields import View

MAX_RANGE = timedelta(days=90)
AGENCY = "社区居委会 / community residents' committee"


class BadRequest(DomainError):
    """GeoReport's 400: a request that cannot be served as sent."""

    status = 400
    code = "bad_request"


class ServiceView(View):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class ValueView(View):
    key: str
    name: str


class AttributeView(View):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[ValueView]


class DefinitionView(View):
    service_code: str
    attributes: list[AttributeView]


class NoteView(View):
    datetime: str | None
    type: str
    status: str
    description: str


class RequestView(View):
    """A service request in the anonymised public view, with the history as ``notes``."""

    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str | None
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None
    notes: list[NoteView]


class TokenView(View):
    service_request_id: str
    token: str


class CreatedView(View):
    service_request_id: str
    token: str
    service_notice: str | None
    account_id: str | None


def _iso(value: datetime | None) -> str | None:
    """ISO 8601 with the Asia/Shanghai offset, as the spec's examples show local time with offset."""
    when = shown(value)
    return when.isoformat(timespec="seconds") if when is not None else None


def services(session: Session) -> list[ServiceView]:
    return [
        ServiceView(
            service_code=c.code,
            service_name=c.name,
            description=c.description or c.name_en,
            metadata=bool(c.attributes),
            type="realtime",
            keywords=c.keywords,
            group=c.group,
        )
        for c in categories.list_categories(session)
    ]


def definition(session: Session, service_code: str) -> DefinitionView:
    c = session.get(Category, service_code)
    if c is None or not c.active:
        raise NotFound(f"service_code {service_code} not found")
    attrs = []
    for order, raw in enumerate(c.attributes or [], start=1):
        a = AttributeDef.model_validate(raw)
        attrs.append(
            AttributeView(
                variable=a.variable,
                code=a.code,
                datatype=a.datatype,
                required=a.required,
                datatype_description=a.datatype_description,
                order=a.order or order,
                description=a.description or a.code,
                values=[ValueView(key=v.key, name=v.name) for v in a.values],
            )
        )
    return DefinitionView(service_code=c.code, attributes=attrs)


def request_row(session: Session, t: Ticket, base: str) -> RequestView:
    cat = session.get(Category, t.category)
    private = is_private(t, cat)
    photos = [] if private else photos_of(session, t.id)
    history = history_of(session, t.id)
    status_notes = next((public_note(h, private) for h in reversed(history) if public_note(h, private)), None)
    if private:
        address: str | None = t.community
    else:
        address = t.address or " ".join(p for p in (t.community, t.building and f"{t.building}号楼") if p) or None
    return RequestView(
        service_request_id=t.id,
        status=open311_status(t.status),
        status_notes=status_notes,
        service_name=cat.name if cat else t.category,
        service_code=t.category,
        description=PRIVATE_DESCRIPTION if private else t.description,
        agency_responsible=AGENCY,
        service_notice=None,
        requested_datetime=_iso(t.created_at),
        updated_datetime=_iso(t.updated_at),
        expected_datetime=_iso(t.resolution_due if t.status in OPEN_STATES else None),
        address=address,
        address_id=None,
        zipcode=None,
        lat=None if private else t.lat,
        long=None if private else t.lon,
        media_url=base + media_path(photos[0]) if photos else None,
        notes=[
            NoteView(datetime=_iso(h.at), type=h.action, status=h.to_status, description=public_note(h, private) or "")
            for h in history
        ],
    )


def one_request(session: Session, request_id: str, base: str) -> list[RequestView]:
    t = session.get(Ticket, request_id)
    if t is None:
        raise NotFound(f"service_request_id {request_id} not found")
    return [request_row(session, t, base)]


def find_requests(
    session: Session,
    now: datetime,
    base: str,
    *,
    service_request_id: str | None,
    service_code: str | None,
    start_date: str | None,
    end_date: str | None,
    status: str | None,
    page: int,
    page_size: int,
) -> list[RequestView]:
    """By id list, or by code/status within at most 90 days (default the last 90); newest first, paged."""
    query = select(Ticket)
    if service_request_id:
        ids = [i.strip() for i in service_request_id.split(",") if i.strip()]
        query = query.where(col(Ticket.id).in_(ids))
    else:
        start, end = _range(start_date, end_date, now)
        query = query.where(col(Ticket.created_at) >= start, col(Ticket.created_at) <= end)
        if service_code:
            query = query.where(col(Ticket.category).in_([c.strip() for c in service_code.split(",")]))
        if status:
            wanted = {s.strip() for s in status.split(",")}
            if not wanted <= {"open", "closed"}:
                raise BadRequest("status must be open or closed")
            if wanted == {"open"}:
                query = query.where(one_of(col(Ticket.status), OPEN_STATES))
            elif wanted == {"closed"}:
                query = query.where(col(Ticket.status).not_in(OPEN_STATES))
    query = (
        query.order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return [request_row(session, t, base) for t in session.exec(query).all()]


def token(session: Session, value: str) -> list[TokenView]:
    found = session.exec(select(Ticket.id).where(Ticket.token == value)).first()
    if found is None:
        raise NotFound(f"token {value} not found")
    return [TokenView(service_request_id=found, token=value)]


CONTACT_FIELDS = ("email", "first_name", "last_name", "device_id", "account_id")


def create(
    ctx: ServiceContext, session: Session, fields: dict[str, Any], attributes: dict[str, JsonValue]
) -> list[CreatedView]:
    """File a service request for the client whose ``api_key`` this is; answers its id and token."""
    key = apikeys.check(session, fields.get("api_key"))
    if key is None:
        raise Forbidden("api_key missing, invalid or revoked", code="bad_api_key")
    code = fields.get("service_code")
    if not code:
        raise BadRequest("service_code is required", code="service_code_required")
    cat = session.get(Category, code)
    if cat is None or not cat.active:
        raise NotFound(f"service_code {code} not found")
    lat, lon = fields.get("lat"), fields.get("long")
    address = fields.get("address_string") or fields.get("address_id")
    if (lat is None or lon is None) and not address:
        raise BadRequest("a location is required: lat and long, address_string or address_id", code="location_required")
    description = (fields.get("description") or "").strip()
    if not description:
        raise BadRequest("description is required", code="description_required")
    contact = {k: fields[k] for k in CONTACT_FIELDS if fields.get(k)}
    if fields.get("phone"):
        contact["phone_masked"] = mask_phone(fields["phone"])
    contact["client"] = key.name
    value = secrets.token_urlsafe(12)
    try:
        ticket = reports.open_ticket(
            ctx,
            session,
            category=code,
            title=description[:60],
            description=description,
            reporter=None,
            address=address,
            lat=lat,
            lon=lon,
            attributes=attributes,
            contact=contact,
            via="open311",
            token=value,
        )
    except Invalid as exc:  # GeoReport answers invalid input with 400
        raise BadRequest(exc.message, code=exc.code) from None
    return [
        CreatedView(service_request_id=ticket.id, token=value, service_notice=None, account_id=fields.get("account_id"))
    ]


def _range(start_date: str | None, end_date: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The date window: defaults to the 90 days before ``end_date`` (or now); longer spans are refused."""
    try:
        end = as_utc(isoparse(end_date)) if end_date else now
        start = as_utc(isoparse(start_date)) if start_date else end - MAX_RANGE
    except (ValueError, OverflowError):
        raise BadRequest(
            "start_date and end_date must be ISO 8601 (e.g. 2026-11-01T00:00:00+08:00)", code="bad_date"
        ) from None
    if not (2000 <= start.year <= 2099 and 2000 <= end.year <= 2099):
        raise BadRequest("dates must lie between 2000 and 2099", code="bad_date")
    if start > end:
        raise BadRequest("start_date is after end_date", code="bad_date")
    if end - start > MAX_RANGE:
        raise BadRequest("the date range may not exceed 90 days", code="range_too_long")
    return start, end
