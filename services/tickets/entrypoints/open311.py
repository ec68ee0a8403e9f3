"""Open311 GeoReport v2 at ``/open311/v2/`` (JSON and XML), following the public spec's field names.

Public GETs show the anonymised view (no reporter, no contact fields). POST needs an ``api_key``
created with ``linli tickets create-key``. The history is included as the ``notes`` extension.
Errors are RFC 9457 problems (``application/problem+json``) whose status is the GeoReport error code.
Lists are paged with ``page`` (from 1) and ``page_size`` (1-200, 50 by default), newest first.
"""

from __future__ import annotations

from typing import Annotated, Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, JsonValue, model_validator

from services.tickets.entrypoints.http.bodies import FORM, body_doc, read_body
from services.tickets.service_layer import georeport
from services.tickets.service_layer.georeport import CreatedView, DefinitionView, RequestView, ServiceView, TokenView
from shared.service import ServiceContext
from shared.web.auth import public
from shared.web.fields import Body, PathCode
from shared.web.runner import Runner

PREFIX = "/open311/v2"
LIST_ITEM = {"attributes": "attribute", "values": "value", "notes": "note"}
XML = {"description": "the same document as XML", "content": {"text/xml": {"schema": {"type": "string"}}}}
Ids = Annotated[str | None, Query(min_length=1, max_length=1000, pattern=r"^[A-Za-z0-9_.:\-, ]+$")]
Date = Annotated[str | None, Query(min_length=1, max_length=40, description="ISO 8601")]
Short = Annotated[str | None, Query(min_length=1, max_length=20)]
PageNo = Annotated[int, Query(ge=1, le=10_000)]
PageSize = Annotated[int, Query(ge=1, le=200)]


async def request_filters(  # async: a plain def dependency runs in a worker thread
    service_request_id: Ids = None,
    service_code: Ids = None,
    start_date: Date = None,
    end_date: Date = None,
    status: Short = None,
    page: PageNo = 1,
    page_size: PageSize = 50,
) -> dict[str, Any]:
    """The query of a request list (JSON or XML), as keyword arguments of ``georeport.find_requests``."""
    return {
        "service_request_id": service_request_id,
        "service_code": service_code,
        "start_date": start_date,
        "end_date": end_date,
        "status": status,
        "page": page,
        "page_size": page_size,
    }


Filters = Annotated[dict[str, Any], Depends(request_filters)]


class RequestIn(Body):
    """A service request as GeoReport clients send it (URL-encoded form); attributes as ``attribute[code]``."""

    api_key: str | None = Field(default=None, max_length=100)
    jurisdiction_id: str | None = Field(default=None, max_length=64)
    service_code: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: str | None = Field(default=None, max_length=300)
    address_id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)
    device_id: str | None = Field(default=None, max_length=64)
    account_id: str | None = Field(default=None, max_length=64)
    first_name: str | None = Field(default=None, max_length=64)
    last_name: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    description: str | None = Field(default=None, max_length=4000)
    media_url: str | None = Field(default=None, max_length=2000)
    attributes: dict[
        Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")],
        Annotated[str, Field(max_length=2000)],
    ] = Field(default={}, max_length=30)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        """A form sends empty fields as ``""``: they mean "not given"."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v != ""}
        return data


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


def xml(root: str, item: str, payload: list[BaseModel] | BaseModel, status: int = 200) -> Response:
    """The spec's XML document: ``<root><item>…</item>…</root>``, or one document for a single model."""
    top = ET.Element(root)
    if isinstance(payload, BaseModel):
        _fill(top, payload.model_dump())
    else:
        for row in payload:
            _fill(ET.SubElement(top, item), row.model_dump())
    body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8")


def build_open311_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["open311"])
    run = Runner(ctx.store)

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    @router.get("/services.json", dependencies=[Depends(public())])
    async def services_json() -> list[ServiceView]:
        """Service list: every active category."""
        return await run.read(georeport.services)

    @router.get("/services.xml", dependencies=[Depends(public())], response_class=Response, responses={200: XML})
    async def services_xml() -> Response:
        """Service list as XML."""
        return xml("services", "service", await run.read(georeport.services))

    @router.get("/services/{service_code}.json", dependencies=[Depends(public())])
    async def definition_json(service_code: PathCode) -> DefinitionView:
        """Service definition: the category's attributes."""
        return await run.read(georeport.definition, service_code)

    @router.get(
        "/services/{service_code}.xml", dependencies=[Depends(public())], response_class=Response, responses={200: XML}
    )
    async def definition_xml(service_code: PathCode) -> Response:
        """Service definition as XML."""
        return xml("service_definition", "", await run.read(georeport.definition, service_code))

    async def find(request: Request, filters: Filters) -> list[RequestView]:
        return await run.read(georeport.find_requests, ctx.clock.now(), base(request), **filters)

    @router.get("/requests.json", dependencies=[Depends(public())])
    async def requests_json(request: Request, filters: Filters) -> list[RequestView]:
        """Service requests: by id list, or by code/status within at most 90 days (default the last 90)."""
        return await find(request, filters)

    @router.get("/requests.xml", dependencies=[Depends(public())], response_class=Response, responses={200: XML})
    async def requests_xml(request: Request, filters: Filters) -> Response:
        """Service requests as XML."""
        return xml("service_requests", "request", await find(request, filters))

    @router.get("/requests/{request_id}.json", dependencies=[Depends(public())])
    async def request_json(request_id: PathCode, request: Request) -> list[RequestView]:
        """One service request."""
        return await run.read(georeport.one_request, request_id, base(request))

    @router.get(
        "/requests/{request_id}.xml", dependencies=[Depends(public())], response_class=Response, responses={200: XML}
    )
    async def request_xml(request_id: PathCode, request: Request) -> Response:
        """One service request as XML."""
        return xml("service_requests", "request", await run.read(georeport.one_request, request_id, base(request)))

    @router.get("/tokens/{token}.json", dependencies=[Depends(public())])
    async def token_json(token: PathCode) -> list[TokenView]:
        """The request id behind a token returned by POST."""
        return await run.read(georeport.token, token)

    @router.get("/tokens/{token}.xml", dependencies=[Depends(public())], response_class=Response, responses={200: XML})
    async def token_xml(token: PathCode) -> Response:
        """The request id behind a token, as XML."""
        return xml("service_requests", "request", await run.read(georeport.token, token))

    async def create(request: Request) -> list[CreatedView]:
        body, _ = await read_body(request, RequestIn)
        fields = body.model_dump(exclude={"attributes"})
        attributes: dict[str, JsonValue] = dict(body.attributes)
        return await run(lambda s: georeport.create(ctx, s, fields, attributes))

    post_doc = body_doc(RequestIn)
    post_doc["requestBody"]["content"] = {
        FORM: post_doc["requestBody"]["content"][FORM],
        **post_doc["requestBody"]["content"],
    }

    @router.post("/requests.json", status_code=201, dependencies=[Depends(public())], openapi_extra=post_doc)
    async def post_json(request: Request) -> list[CreatedView]:
        """Create a service request (form-encoded, with ``api_key``); answers id and token."""
        return await create(request)

    @router.post(
        "/requests.xml",
        status_code=201,
        dependencies=[Depends(public())],
        openapi_extra=post_doc,
        response_class=Response,
        responses={201: XML},
    )
    async def post_xml(request: Request) -> Response:
        """Create a service request, answered as XML."""
        return xml("service_requests", "request", await create(request), 201)

    return router
