"""Partner libraries: their streams and reject counts, HTTPS signing keys, and the signed HTTPS ingress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from services.library.entrypoints.http.deps import Desk, KeyId, Operator, PartnerCode
from services.library.entrypoints.http.schemas import AcceptedView, KeyRevokedView, PartnerKeyView, PartnerView
from services.library.service_layer import partners
from shared.errors import TooLarge
from shared.service import ServiceContext
from shared.web.auth import public
from shared.web.pages import Page, Paging, page_in_memory
from shared.web.runner import Runner

_SIGNED_EVENT = {
    "requestBody": {
        "required": True,
        "description": "a CloudEvent (JSON) whose bytes are signed as they are sent",
        "content": {"application/cloudevents+json": {"schema": {"type": "object", "additionalProperties": True}}},
    }
}


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(prefix="/partners")
    run = Runner(ctx.store)

    @api.get("")
    async def list_partners(page: Paging, _: Desk) -> Page[PartnerView]:
        """Configured partner libraries, their streams, and how many of their events were rejected."""
        return page_in_memory(await partners.listing(ctx), page, key=lambda p: (p["code"],))

    @api.post("/{code}/keys", status_code=201)
    async def post_partner_key(code: PartnerCode, _: Operator) -> PartnerKeyView:
        """Issue an HTTPS signing key for a partner (no body); the secret is shown only in this answer."""

        def issue(s):
            key_id, secret = partners.issue_key(ctx, s, code)
            return {"partner": code, "key_id": key_id, "secret": secret}

        return await run(issue)

    @api.delete("/{code}/keys/{key_id}")
    async def delete_partner_key(code: PartnerCode, key_id: KeyId, _: Operator) -> KeyRevokedView:
        """Stop accepting signatures made with this key."""
        await run(lambda s: partners.revoke_key(ctx, s, code, key_id))
        return KeyRevokedView(partner=code, key_id=key_id, revoked=True)

    @api.post("/{code}/events", status_code=202, dependencies=[Depends(public())], openapi_extra=_SIGNED_EVENT)
    async def partner_event(
        code: PartnerCode,
        request: Request,
        x_linli_timestamp: Annotated[str | None, Header(max_length=20, description="Unix seconds")] = None,
        x_linli_signature: Annotated[str | None, Header(max_length=100, description="sha256=<hex>")] = None,
        x_linli_key: Annotated[str | None, Header(max_length=32, description="the key id")] = None,
    ) -> AcceptedView:
        """A partner without Redis posts a CloudEvent signed with HMAC-SHA256 over ``<timestamp>.<body>``.

        A valid signature puts the body on the partner's ingress stream, where it is validated and
        deduplicated like any Redis entry (invalid events end in the dead-letter stream).
        """
        body = await request.body()
        if len(body) > ctx.settings.max_event_bytes:
            raise TooLarge("事件过大 / event too large", code="event_too_large")
        await run.read(
            lambda s: partners.check_signature(ctx, s, code, x_linli_key, x_linli_timestamp, body, x_linli_signature)
        )
        entry_id = await partners.xadd_ingress(ctx, code, body)
        return AcceptedView(accepted=True, stream=ctx.names.partner_ingress(code), entry_id=entry_id)

    return api
