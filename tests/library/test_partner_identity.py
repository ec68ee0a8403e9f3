"""Partners' events are named by source and id together: one partner's id is not another's event."""

import json
from datetime import timedelta

import redis.asyncio as aredis

from tests.conftest import eventually
from tests.library.conftest import CARD_A, STAFF, checkout, register
from tests.library.test_partners import open_loans, outbox_types, partner_event

SHARED_ID = "ret-0001"  # both partners number their returns this way


async def _settled(r, ingress: str) -> bool:
    """Every entry of ``ingress`` was delivered to the library group and acknowledged."""
    groups = {g["name"]: g for g in await r.xinfo_groups(ingress)}
    group = groups.get(b"library")
    last = (await r.xinfo_stream(ingress))["last-generated-id"]
    return group is not None and group["pending"] == 0 and group["last-delivered-id"] == last


async def test_another_partner_s_return_with_the_same_id_is_applied_too(lib, settings, clock):
    async with lib() as (runtime, client):
        reader = await register(client, CARD_A, "赵晓彤")
        for barcode in ("ZHC-4", "ZHC-5"):
            assert (await checkout(client, reader, barcode)).status_code == 201
        clock.advance(timedelta(hours=2))
        r = aredis.Redis.from_url(settings.redis_url)
        ingress_a = f"{settings.stream_prefix}:partner:CN-SJZ-LIB:in"
        ingress_b = f"{settings.stream_prefix}:partner:CN-SJZ-YHLIB:in"
        from_a = partner_event("CN-SJZ-LIB", barcode="ZHC-4", branch="CN-SJZ-LIB", event_id=SHARED_ID)
        from_b = partner_event("CN-SJZ-YHLIB", barcode="ZHC-5", branch="CN-SJZ-YHLIB", event_id=SHARED_ID)

        await r.xadd(ingress_a, {"cloudevent": json.dumps(from_a)})
        await eventually(lambda: _loans_are(client, reader, ["ZHC-5"]))  # A's return applied
        await r.xadd(ingress_b, {"cloudevent": json.dumps(from_b)})  # B's own return, A's id
        await r.xadd(ingress_a, {"cloudevent": json.dumps(from_a)})  # A resends: a true duplicate
        for ingress in (ingress_a, ingress_b):
            await eventually(lambda ingress=ingress: _settled(r, ingress))

        assert await open_loans(client, reader) == []  # B's return closed the other loan
        for barcode, branch in (("ZHC-4", "CN-SJZ-LIB"), ("ZHC-5", "CN-SJZ-YHLIB")):
            copy = (await client.get(f"/api/library/copies/{barcode}", headers=STAFF)).json()
            assert (copy["status"], copy["location"]) == ("in_transit", branch)
        assert outbox_types(runtime).count("BookReturned") == 2  # one per partner, A's resend had no effect
        assert outbox_types(runtime).count("BookInTransit") == 2
        assert await r.xlen(f"{settings.stream_prefix}:dlq") == 0
        await r.aclose()


async def _loans_are(client, reader, barcodes) -> bool:
    return await open_loans(client, reader) == barcodes
