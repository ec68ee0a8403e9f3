"""Open311 GeoReport v2 at ``/open311/v2/`` (JSON and XML), following the public spec's field names.

Public GETs show the anonymised view (no reporter, no contact fields). POST needs an ``api_key``
created with ``linli tickets create-key``. The history is included as the ``notes`` extension.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

from dateutil.parser import isoparse
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from services.tickets.adapters.orm import Category, Ticket
from services.tickets.domain.errors import TicketError
from services.tickets.domain.lifecycle import OPEN_STATES, open311_status
from services.tickets.service_layer import apikeys, categories, reports
from services.tickets.service_layer.common import media_path
from shared.clock import as_utc, local
from shared.pii import mask_phone
from shared.service import ServiceContext
from shared.web.auth import public

PREFIX = "/open311/v2"
MAX_RANGE = timedelta(days=90)
MAX_RESULTS = 1000
AGENCY = "社区居委会 / community residents' committee"
FORMATS = ("json", "xml")


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _iso(value: datetime | None) -> str | None:
    """ISO 8601 with the Asia/Shanghai offset, as the spec's examples show local time with offset."""
    return local(value).isoformat(timespec="seconds") if value is not None else None


def _xml(root: str, item: str, rows: list[dict[str, Any]]) -> bytes:
    top = ET.Element(root)
    for row in rows:
        _fill(ET.SubElement(top, item), row)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")


LIST_ITEM = {"attributes": "attribute", "values": "value", "notes": "note"}


def _fill(node: ET.Element, row: dict[str, Any]) -> None:
    for key, value in row.items():
        child = ET.SubElement(node, key)
        if isinstance(value, list):
            for entry in value:
                sub = ET.SubElement(child, LIST_ITEM.get(key, "item"))
                if isinstance(entry, dict):
                    _fill(sub, entry)
                else:
                    sub.text = str(entry)
        elif isinstance(value, bool):
            child.text = "true" if value else "false"
        elif value is not None:
            child.text = str(value)


def respond(fmt: str, root: str, item: str, payload: Any, status: int = 200) -> Response:
    if fmt == "xml":
        if isinstance(payload, dict):  # a single document, e.g. service_definition
            top = ET.Element(root)
            _fill(top, payload)
            body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")
        else:
            body = _xml(root, item, payload)
        return Response(body, status_code=status, media_type="text/xml; charset=utf-8")
    return JSONResponse(payload, status_code=status)


def error(fmt: str, status: int, description: str) -> Response:
    """The spec's ``errors`` body: a list of {code, description}."""
    return respond(
        fmt if fmt in FORMATS else "json", "errors", "error", [{"code": status, "description": description}], status
    )


def service_row(c: Category) -> dict[str, Any]:
    return {
        "service_code": c.code,
        "service_name": c.name,
        "description": c.description or c.name_en,
        "metadata": bool(c.attributes),
        "type": "realtime",
        "keywords": c.keywords,
        "group": c.group,
    }


def definition(c: Category) -> dict[str, Any]:
    attrs = []
    for order, a in enumerate(c.attributes or [], start=1):
        attrs.append(
            {
                "variable": a.get("variable", True),
                "code": a["code"],
                "datatype": a.get("datatype", "string"),
                "required": bool(a.get("required")),
                "datatype_description": a.get("datatype_description", ""),
                "order": a.get("order", order),
                "description": a.get("description", a["code"]),
                "values": [{"key": v["key"], "name": v["name"]} for v in a.get("values") or []],
            }
        )
    return {"service_code": c.code, "attributes": attrs}


def request_row(session: Session, t: Ticket, base: str) -> dict[str, Any]:
    """A service request in the anonymised public view, with the history as ``notes``."""
    cat = session.get(Category, t.category)
    photos = reports.photos_of(session, t.id)
    history = reports.history_of(session, t.id)
    status_notes = next(
        (
            reports.public_note(h)
            for h in reversed(history)
            if reports.public_note(h) and not h.action.startswith("escalate")
        ),
        None,
    )
    address = t.address or " ".join(p for p in (t.community, t.building and f"{t.building}号楼") if p) or None
    return {
        "service_request_id": t.id,
        "status": open311_status(t.status),
        "status_notes": status_notes,
        "service_name": cat.name if cat else t.category,
        "service_code": t.category,
        "description": t.description,
        "agency_responsible": AGENCY,
        "service_notice": None,
        "requested_datetime": _iso(t.created_at),
        "updated_datetime": _iso(t.updated_at),
        "expected_datetime": _iso(t.resolution_due if t.status in OPEN_STATES else None),
        "address": address,
        "address_id": None,
        "zipcode": None,
        "lat": t.lat,
        "long": t.lon,
        "media_url": base + media_path(photos[0]) if photos else None,
        "notes": [
            {
                "datetime": _iso(h.at),
                "type": h.action,
                "status": h.to_status,
                "description": reports.public_note(h) or "",
            }
            for h in history
        ],
    }


def _split(fmt_name: str) -> tuple[str, str]:
    name, _, fmt = fmt_name.rpartition(".")
    return name, fmt


def build_open311_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["open311"])

    def db(fn):
        def run():
            with ctx.store.transaction() as session:
                return fn(session)

        return ctx.store.run(run)

    async def guarded(fmt: str, work) -> Response:
        if fmt not in FORMATS:
            return error("json", 404, f"format not supported: {fmt} (json or xml)")
        try:
            return await work()
        except Open311Error as exc:
            return error(fmt, exc.status, exc.description)
        except TicketError as exc:
            return error(fmt, 400 if exc.status == 422 else exc.status, str(exc))

    @router.get("/services.{fmt}", dependencies=[Depends(public())])
    async def services(fmt: str) -> Response:
        """Service list: every active category."""

        async def work():
            rows = await db(lambda s: [service_row(c) for c in categories.list_categories(s)])
            return respond(fmt, "services", "service", rows)

        return await guarded(fmt, work)

    @router.get("/services/{service_code}.{fmt}", dependencies=[Depends(public())])
    async def service_definition(service_code: str, fmt: str) -> Response:
        """Service definition: the category's attributes."""

        async def work():
            cat = await db(lambda s: s.get(Category, service_code))
            if cat is None or not cat.active:
                raise Open311Error(404, f"service_code {service_code} not found")
            return respond(fmt, "service_definition", "", definition(cat))

        return await guarded(fmt, work)

    @router.get("/requests.{fmt}", dependencies=[Depends(public())])
    async def get_requests(
        fmt: str,
        request: Request,
        service_request_id: str | None = None,
        service_code: str | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        status: str | None = None,
    ) -> Response:
        """Service requests: by id list, or by code/status within at most 90 days (default the last 90)."""
        base = str(request.base_url).rstrip("/")

        async def work():
            now = ctx.clock.now()
            query = select(Ticket)
            if service_request_id:
                ids = [i.strip() for i in service_request_id.split(",") if i.strip()]
                query = query.where(col(Ticket.id).in_(ids))
            else:
                start, end = _range(start_date, end_date, now)
                query = query.where(col(Ticket.created_at) >= start, col(Ticket.created_at) <= end)
                if service_code:
                    query = query.where(col(Ticket.category).in_(service_code.split(",")))
                if status:
                    wanted = {s.strip() for s in status.split(",")}
                    if not wanted <= {"open", "closed"}:
                        raise Open311Error(400, "status must be open or closed")
                    if wanted == {"open"}:
                        query = query.where(col(Ticket.status).in_(OPEN_STATES))
                    elif wanted == {"closed"}:
                        query = query.where(col(Ticket.status).not_in(OPEN_STATES))
            query = query.order_by(col(Ticket.created_at).desc()).limit(MAX_RESULTS)
            rows = await db(lambda s: [request_row(s, t, base) for t in s.exec(query).all()])
            return respond(fmt, "service_requests", "request", rows)

        return await guarded(fmt, work)

    @router.get("/requests/{request_id}.{fmt}", dependencies=[Depends(public())])
    async def get_request(request_id: str, fmt: str, request: Request) -> Response:
        """One service request."""
        base = str(request.base_url).rstrip("/")

        async def work():
            def load(s):
                t = s.get(Ticket, request_id)
                return None if t is None else [request_row(s, t, base)]

            rows = await db(load)
            if rows is None:
                raise Open311Error(404, f"service_request_id {request_id} not found")
            return respond(fmt, "service_requests", "request", rows)

        return await guarded(fmt, work)

    @router.get("/tokens/{token}.{fmt}", dependencies=[Depends(public())])
    async def get_token(token: str, fmt: str) -> Response:
        """The request id behind a token returned by POST."""

        async def work():
            found = await db(lambda s: s.exec(select(Ticket.id).where(Ticket.token == token)).first())
            if found is None:
                raise Open311Error(404, f"token {token} not found")
            return respond(fmt, "service_requests", "request", [{"service_request_id": found, "token": token}])

        return await guarded(fmt, work)

    @router.post("/requests.{fmt}", dependencies=[Depends(public())])
    async def post_request(fmt: str, request: Request) -> Response:
        """Create a service request (form-encoded, with ``api_key``); answers id and token."""

        async def work():
            form = await request.form()
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            attributes = {k[10:-1]: v for k, v in fields.items() if k.startswith("attribute[") and k.endswith("]")}

            def create(s):
                key = apikeys.check(s, fields.get("api_key"))
                if key is None:
                    raise Open311Error(403, "api_key missing, invalid or revoked")
                code = fields.get("service_code")
                if not code:
                    raise Open311Error(400, "service_code is required")
                cat = s.get(Category, code)
                if cat is None or not cat.active:
                    raise Open311Error(404, f"service_code {code} not found")
                lat, lon = _coord(fields.get("lat"), -90, 90), _coord(fields.get("long"), -180, 180)
                address = fields.get("address_string") or fields.get("address_id")
                if (lat is None or lon is None) and not address:
                    raise Open311Error(400, "a location is required: lat and long, address_string or address_id")
                description = (fields.get("description") or "").strip()
                if not description:
                    raise Open311Error(400, "description is required")
                if len(description) > 4000:
                    raise Open311Error(400, "description is longer than 4000 characters")
                contact = {
                    k: fields[k]
                    for k in ("email", "first_name", "last_name", "device_id", "account_id")
                    if fields.get(k)
                }
                if fields.get("phone"):
                    contact["phone_masked"] = mask_phone(fields["phone"])
                contact["client"] = key.name
                token = secrets.token_urlsafe(12)
                ticket = reports.open_ticket(
                    ctx,
                    s,
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
                    token=token,
                )
                return [
                    {
                        "service_request_id": ticket.id,
                        "token": token,
                        "service_notice": None,
                        "account_id": fields.get("account_id"),
                    }
                ]

            rows = await db(create)
            return respond(fmt, "service_requests", "request", rows, 201)

        return await guarded(fmt, work)

    return router


def _coord(raw: str | None, low: float, high: float) -> float | None:
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"not a coordinate: {raw}") from None
    if not low <= value <= high:
        raise Open311Error(400, f"coordinate out of range: {raw}")
    return value


def _range(start_date: str | None, end_date: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The date window: defaults to the 90 days before ``end_date`` (or now); longer spans are refused."""
    try:
        end = as_utc(isoparse(end_date)) if end_date else now
        start = as_utc(isoparse(start_date)) if start_date else end - MAX_RANGE
    except ValueError:
        raise Open311Error(400, "start_date and end_date must be ISO 8601 (e.g. 2026-11-01T00:00:00+08:00)") from None
    if start > end:
        raise Open311Error(400, "start_date is after end_date")
    if end - start > MAX_RANGE:
        raise Open311Error(400, "the date range may not exceed 90 days")
    return start, end
