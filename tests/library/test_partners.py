"""Partner libraries: BookReturned over Redis and signed HTTPS, validation to the dead-letter stream, egress."""

import json
import uuid
from datetime import timedelta

import redis.asyncio as aredis

from services.library.domain.signature import sign
from tests.conftest import eventually
from tests.library.conftest import CARD_A, OPERATOR, RESIDENT, STAFF, checkout, events, register

BOOK_RETURNED = "cn.linli.library.BookReturned.v1"


def partner_event(partner="CN-SJZ-LIB", barcode="ZHC-4", branch="CN-SJZ-LIB", event_id=None, **changes) -> dict:
    doc = {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": f"/partners/{partner}",
        "type": BOOK_RETURNED,
        "time": "2026-11-28T03:00:00Z",
        "data": {"barcode": barcode, "branch": branch, "returned_at": "2026-11-28T03:00:00Z"},
    }
    doc.update(changes)
    return doc


async def open_loans(client, reader) -> list[str]:
    return [x["barcode"] for x in (await client.get(f"/api/library/readers/{reader}", headers=STAFF)).json()["loans"]]


def outbox_types(runtime) -> list[str]:
    """Short type names of every event the library recorded (published or not)."""
    from sqlalchemy import select

    store = runtime.contexts["library"].store
    with store.engine.connect() as conn:
        rows = conn.execute(select(runtime.contexts["library"].module.outbox.table.c.event_type)).scalars().all()
    return [t.rsplit(".", 2)[-2] for t in rows]


async def test_partner_return_over_redis_closes_loan_once(lib, settings, clock):
    async with lib() as (runtime, client):
        reader = await register(client, CARD_A, "赵晓彤")
        await checkout(client, reader, "ZHC-4")
        clock.advance(timedelta(hours=2))  # the partner's desk took it at 03:00, we hear of it at 04:00
        r = aredis.Redis.from_url(settings.redis_url)
        ingress = f"{settings.stream_prefix}:partner:CN-SJZ-LIB:in"
        doc = json.dumps(partner_event(event_id="sjzlib-ret-0001"), ensure_ascii=False)
        await r.xadd(ingress, {"cloudevent": doc})
        await r.xadd(ingress, {"cloudevent": doc})  # the partner retried: same source and id
        await eventually(lambda: _no_loans(client, reader))
        copy = (await client.get("/api/library/copies/ZHC-4", headers=STAFF)).json()
        assert (copy["status"], copy["location"], copy["transit_to"]) == ("in_transit", "CN-SJZ-LIB", "CN-SJZ-YH-ZHC")
        stream = f"{settings.stream_prefix}:library"
        returned = await eventually(lambda: events(settings.redis_url, stream, "BookReturned"))
        await eventually(lambda: _pending_zero(r, ingress))
        assert outbox_types(runtime).count("BookReturned") == 1  # the retry had no second effect
        assert outbox_types(runtime).count("BookInTransit") == 1
        assert returned[0]["causationid"] == "sjzlib-ret-0001" and returned[0]["data"]["branch"] == "CN-SJZ-LIB"
        assert returned[0]["data"]["returned_at"].startswith("2026-11-28T03:00:00")
        assert await r.xlen(f"{settings.stream_prefix}:dlq") == 0
        await r.aclose()


async def _no_loans(client, reader) -> bool:
    return await open_loans(client, reader) == []


INVALID = [
    ("not_json", b"{not json"),
    ("not_cloudevent", json.dumps({k: v for k, v in partner_event().items() if k != "id"})),
    ("unknown_type", json.dumps(partner_event(type="cn.example.ItemCheckedIn.v1"))),
    ("invalid_data", json.dumps(partner_event() | {"data": {"branch": "CN-SJZ-LIB"}})),
    ("wrong_source", json.dumps(partner_event(source="/linli/library"))),
    ("foreign_branch", json.dumps(partner_event(branch="CN-SJZ-YH-ZHC"))),
    ("foreign_branch", json.dumps(partner_event(branch="CN-SJZ-YHLIB"))),
    ("unknown_barcode", json.dumps(partner_event(barcode="NOPE-404"))),
    (
        "unsupported_type",
        json.dumps(
            partner_event(
                type="cn.linli.library.HoldPlaced.v1",
                data={"hold_id": "H1", "reader_id": "R1", "isbn": "9787020002207", "pickup_branch": "CN-SJZ-LIB"},
            )
        ),
    ),
]


async def test_every_invalid_partner_event_is_dead_lettered_and_counted(lib, settings):
    async with lib() as (_rt, client):
        reader = await register(client, CARD_A, "赵晓彤")
        await checkout(client, reader, "ZHC-4")
        r = aredis.Redis.from_url(settings.redis_url)
        ingress = f"{settings.stream_prefix}:partner:CN-SJZ-LIB:in"
        for _reason, body in INVALID:
            await r.xadd(ingress, {"cloudevent": body})
        dlq = f"{settings.stream_prefix}:dlq"
        await eventually(lambda: _len_at_least(r, dlq, len(INVALID)))
        dead = await r.xrange(dlq)
        assert sorted(f[b"reason"].decode() for _, f in dead) == sorted(reason for reason, _ in INVALID)
        assert all(f[b"stream"].decode() == ingress for _, f in dead)
        assert await open_loans(client, reader) == ["ZHC-4"]  # nothing changed the loan
        # the consumer still works after all that
        await r.xadd(ingress, {"cloudevent": json.dumps(partner_event())})
        await eventually(lambda: _no_loans(client, reader))
        partners = {p["code"]: p for p in (await client.get("/api/library/partners", headers=STAFF)).json()["items"]}
        assert partners["CN-SJZ-LIB"]["rejected"]["total"] == len(INVALID)
        assert partners["CN-SJZ-LIB"]["rejected"]["reasons"]["foreign_branch"] == 2
        assert partners["CN-SJZ-YHLIB"]["rejected"]["total"] == 0
        assert (await client.get("/api/library/partners", headers=RESIDENT)).status_code == 403
        await r.aclose()


async def _len_at_least(r, key, n) -> bool:
    return await r.xlen(key) >= n


async def test_partner_cannot_speak_for_another_partner(lib, settings):
    async with lib() as (_rt, client):
        reader = await register(client, CARD_A, "赵晓彤")
        await checkout(client, reader, "ZHC-4")
        r = aredis.Redis.from_url(settings.redis_url)
        forged = partner_event(partner="CN-SJZ-YHLIB", branch="CN-SJZ-YHLIB")
        await r.xadd(f"{settings.stream_prefix}:partner:CN-SJZ-LIB:in", {"cloudevent": json.dumps(forged)})
        await eventually(lambda: _len_at_least(r, f"{settings.stream_prefix}:dlq", 1))
        ((_id, dead),) = await r.xrange(f"{settings.stream_prefix}:dlq")
        assert dead[b"reason"] == b"wrong_source"
        assert await open_loans(client, reader) == ["ZHC-4"]
        await r.aclose()


async def test_partner_copy_returned_at_our_branch_goes_to_its_egress_stream(lib, settings):
    async with lib() as (_rt, client):
        reader = await register(client, CARD_A, "赵晓彤")
        assert (await checkout(client, reader, "LIB-1", branch="CN-SJZ-LIB")).status_code == 201
        r = await client.post(
            "/api/library/checkin", headers=STAFF, json={"barcode": "LIB-1", "branch": "CN-SJZ-YH-ZHC"}
        )
        assert (r.json()["status"], r.json()["destination"]) == ("in_transit", "CN-SJZ-LIB")
        egress = f"{settings.stream_prefix}:partner:CN-SJZ-LIB:out"
        out = await eventually(lambda: events(settings.redis_url, egress))
        assert len(out) == 1
        event = out[0]
        assert (event["type"], event["source"]) == (BOOK_RETURNED, "/linli/library")
        assert event["data"]["barcode"] == "LIB-1" and event["data"]["branch"] == "CN-SJZ-YH-ZHC"
        assert "reader_id" not in event["data"] or event["data"]["reader_id"] is None
        assert events(settings.redis_url, f"{settings.stream_prefix}:partner:CN-SJZ-YHLIB:out") == []


async def test_https_ingress_signature_and_replay_window(lib, settings, clock):
    async with lib() as (_rt, client):
        reader = await register(client, CARD_A, "赵晓彤")
        await checkout(client, reader, "ZHC-4")
        assert (await client.post("/api/library/partners/CN-SJZ-LIB/keys", headers=STAFF)).status_code == 403
        r = await client.post("/api/library/partners/CN-SJZ-LIB/keys", headers=OPERATOR)
        assert r.status_code == 201
        key_id, secret = r.json()["key_id"], r.json()["secret"]
        url = "/api/library/partners/CN-SJZ-LIB/events"

        async def post(body: bytes, *, age_s: int = 0, secret_=secret, key=key_id):
            ts = str(int(clock.now().timestamp()) - age_s)
            return await client.post(
                url,
                content=body,
                headers={
                    "Content-Type": "application/cloudevents+json",
                    "X-Linli-Timestamp": ts,
                    "X-Linli-Signature": sign(secret_, ts, body),
                    "X-Linli-Key": key,
                },
            )

        body = json.dumps(partner_event(event_id="https-0001")).encode()
        assert (await post(body, age_s=301)).status_code == 401  # older than 5 minutes
        assert (await post(body, age_s=-301)).status_code == 401  # from the future
        assert (await post(body, secret_="0" * 64)).status_code == 401  # wrong secret
        r = await client.post(url, content=body, headers={"X-Linli-Timestamp": str(int(clock.now().timestamp()))})
        assert r.status_code == 401 and "签名" in r.json()["detail"]
        assert (await client.post("/api/library/partners/XX/events", content=body)).status_code == 404
        r = await post(body, age_s=240)  # within the window
        assert r.status_code == 202, r.text
        assert r.json()["stream"] == f"{settings.stream_prefix}:partner:CN-SJZ-LIB:in"
        assert (await post(body)).status_code == 202  # a replay: accepted, no second effect
        await eventually(lambda: _no_loans(client, reader))
        stream = f"{settings.stream_prefix}:library"
        await eventually(lambda: events(settings.redis_url, stream, "BookReturned"))
        rr = aredis.Redis.from_url(settings.redis_url)
        await eventually(lambda: _pending_zero(rr, f"{settings.stream_prefix}:partner:CN-SJZ-LIB:in"))
        await rr.aclose()
        assert outbox_types(_rt).count("BookReturned") == 1
        # a signed but invalid event takes the same path to the dead-letter stream
        assert (await post(json.dumps(partner_event(barcode="NOPE")).encode())).status_code == 202
        counts = await eventually(lambda: _rejected(client))
        assert counts == {"unknown_barcode": 1}
        # a revoked key stops working
        assert (
            await client.delete(f"/api/library/partners/CN-SJZ-LIB/keys/{key_id}", headers=OPERATOR)
        ).status_code == 200
        assert (await post(json.dumps(partner_event()).encode())).status_code == 401
        clock.advance(timedelta(seconds=1))
    db = b"".join(f.read_bytes() for f in settings.var_dir.glob("library.db*"))
    assert key_id.encode() in db
    assert secret.encode() not in db


async def _pending_zero(r, key) -> bool:
    return (await r.xpending(key, "library"))["pending"] == 0


async def _rejected(client):
    partners = {p["code"]: p for p in (await client.get("/api/library/partners", headers=STAFF)).json()["items"]}
    return partners["CN-SJZ-LIB"]["rejected"]["reasons"] or None
