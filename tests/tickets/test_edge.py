"""The tickets edge refuses hostile input with a problem+json 4xx, never echoes it, and writes nothing.

One test per class of bad input measured on the old edge (60f56e5): deep JSON (500), ``1e400`` (500, or
infinity stored in a category so that the SLA job failed every 30 s), unchecked ticket attributes (1 MB
strings and nested objects stored), a thirteenth month, decompression bombs and huge photos (500 / hundreds
of MB decoded), unbounded list limits, mojibake from URL-encoded UTF-8; and photo files that must survive a
unit of work that runs twice or fails.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlmodel import select

from services.tickets.adapters.orm import Category, Ticket, TicketHistory, TicketPhoto
from services.tickets.jobs import tick
from services.tickets.service_layer import apikeys, reports
from shared.db.sqlite import WouldWait
from shared.errors import Invalid
from tests.tickets.helpers import MANHOLE, RESIDENT, STAFF, jpeg_with_exif, report

T = "/api/tickets/tickets"
PROBLEM = "application/problem+json"
MARK = "ECHO-7f3a"  # a marker inside hostile input: it must never come back


def problem(r, status: int, code: str, *echo: str) -> dict:
    """``r`` is a problem+json ``status`` with ``code`` that does not repeat any of ``echo``."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["code"] == code, body
    for text in echo:
        assert text not in r.text
    return body


def count(runtime, model) -> int:
    ctx = runtime.contexts["tickets"]
    with ctx.store.transaction(readonly=True) as session:
        return len(session.exec(select(model)).all())


def stored_files(settings) -> list:
    media = settings.var_dir / "media" / "tickets"
    return sorted(p for p in media.rglob("*.*") if not p.name.startswith(".")) if media.exists() else []


def json_post(client, url, raw: str, headers=RESIDENT):
    return client.post(url, content=raw.encode(), headers={**headers, "content-type": "application/json"})


async def test_deeply_nested_json_is_a_400_too_deep_on_create_assign_and_close(start_runtime, clock):
    """Was a 500: ``RecursionError`` escaped the hand-written body parser."""
    async with start_runtime(["tickets"], clock=clock) as (runtime, client):
        tid = (await report(client))["id"]
        before = count(runtime, Ticket), count(runtime, TicketHistory)
        arrays = '{"title": [' + "[" * 100_000 + "]" * 100_000 + "]}"
        objects = '{"note": ' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "}"
        for url, raw, who in (
            (T, arrays, RESIDENT),
            (T, objects, RESIDENT),
            (f"{T}/{tid}/assign", arrays, STAFF),
            (f"{T}/{tid}/assign", objects, STAFF),
            (f"{T}/{tid}/close", arrays, STAFF),
            (f"{T}/{tid}/close", objects, STAFF),
        ):
            problem(await json_post(client, url, raw, who), 400, "too_deep", '{"a":{"a"')
        # past the JSON middleware (it measures JSON content types): the body reader itself never recurses
        plain = {**RESIDENT, "content-type": "text/plain"}
        for raw in (arrays, objects):
            problem(await client.post(T, content=raw.encode(), headers=plain), 422, "invalid", '{"a":{"a"')
        assert (count(runtime, Ticket), count(runtime, TicketHistory)) == before


async def test_infinite_numbers_are_a_422_in_every_number_field(start_runtime, clock):
    """``1e400`` is infinity to Python's JSON parser: was a 500 (or stored)."""
    async with start_runtime(["tickets"], clock=clock) as (runtime, client):
        tid = (await report(client))["id"]
        await client.post(f"{T}/{tid}/acknowledge", headers=STAFF, json={})
        await client.post(f"{T}/{tid}/resolve", headers=STAFF, json={"note": "已修"})
        before = count(runtime, Ticket), count(runtime, TicketHistory)
        create = f'{{"category": "manhole", "title": "{MARK}", "description": "x", "lat": 1e400, "lon": 114.4}}'
        body = problem(await json_post(client, T, create), 422, "invalid", MARK, "inf")
        assert [e["field"] for e in body["errors"]] == ["body.lat"]
        create = f'{{"category": "manhole", "title": "{MARK}", "description": "x", "lat": 38, "lon": -1e400}}'
        problem(await json_post(client, T, create), 422, "invalid", MARK)
        problem(await json_post(client, f"{T}/{tid}/rate", '{"rating": 1e400}'), 422, "invalid", "inf")
        problem(await json_post(client, f"{T}/{tid}/acknowledge", '{"template": 1e400}', STAFF), 422, "invalid")
        fields = {**{k: str(v) for k, v in MANHOLE.items()}, "lat": "1e400", "title": MARK}
        r = await client.post(
            T, headers=RESIDENT, data=fields, files=[("photo", ("a.jpg", jpeg_with_exif(), "image/jpeg"))]
        )
        assert problem(r, 422, "invalid", MARK)["errors"][0]["field"] == "body.lat"  # multipart: the same model
        assert (count(runtime, Ticket), count(runtime, TicketHistory)) == before
        assert (await client.get(f"{T}/{tid}", headers=STAFF)).json()["status"] == "resolved"


async def test_a_category_refuses_infinite_or_unbounded_deadlines_and_untyped_definitions(start_runtime, clock):
    """Was a 200 storing infinity: from then on the SLA job failed every 30 s and nothing escalated."""
    async with start_runtime(["tickets"], clock=clock) as (runtime, client):
        url = "/api/tickets/categories/manhole"
        for raw in (
            '{"response_hours": 1e400}',
            '{"resolution_hours": 1e400}',
            '{"response_hours": 100000}',
            '{"response_hours": 0}',
            '{"response_hours": -2}',
            f'{{"attributes": [{{"code": "{MARK}", "datatype": "blob"}}]}}',
            f'{{"attributes": [{{"code": "a", "values": [{{"key": "k", "name": "n", "x": "{MARK}"}}]}}]}}',
            f'{{"templates": {{"acknowledged": ["{"x" * 501}"]}}}}',
            '{"templates": {"nonsense": ["a"]}}',
            f'{{"templates": {{"acknowledged": [{{"nested": "{MARK}"}}]}}}}',
        ):
            r = await client.put(url, content=raw.encode(), headers={**STAFF, "content-type": "application/json"})
            problem(r, 422, "invalid", MARK)
        manhole = next(
            c for c in (await client.get("/api/tickets/categories")).json()["items"] if c["code"] == "manhole"
        )
        assert manhole["response_hours"] == 2 and manhole["resolution_hours"] == 24
        assert [a["code"] for a in manhole["attributes"]] == ["affected"]
        # the SLA job still escalates
        await report(client)
        assert tick(runtime.contexts["tickets"], clock.advance(timedelta(hours=2, minutes=1))) == 1


async def test_ticket_attributes_are_checked_against_the_category_definitions(start_runtime, clock, settings):
    """Were stored as sent: a 1 MB string or a nested object came back in every view."""
    async with start_runtime(["tickets"], clock=clock) as (runtime, client):
        repair = {"category": "repair_clothes", "title": "改衣服", "description": "裤脚改短"}
        cases = [
            ({"item": "x" * 300 + MARK}, "attribute_invalid"),  # a string attribute holds 200 characters
            ({"item": "裤子", MARK: "1"}, "unknown_attribute"),
            ({}, "attribute_required"),
        ]
        for attributes, code in cases:
            r = await client.post(T, headers=RESIDENT, json={**repair, "attributes": attributes})
            problem(r, 422, code, MARK)
        r = await client.post(T, headers=RESIDENT, json={**MANHOLE, "attributes": {"affected": "maybe"}})
        problem(r, 422, "attribute_invalid")
        r = await client.post(T, headers=RESIDENT, json={**MANHOLE, "attributes": {"affected": {"a": MARK}}})
        problem(r, 422, "invalid", MARK)  # not a scalar: the model refuses it
        r = await client.post(T, headers=RESIDENT, json={**repair, "attributes": {"item": "y" * 500_000}})
        problem(r, 422, "invalid", "yyyy")
        fields = {**repair, "attribute[item]": "裤子", f"attribute[{MARK}]": "1"}  # multipart: the same rules
        r = await client.post(
            T, headers=RESIDENT, data=fields, files=[("photo", ("a.jpg", jpeg_with_exif(), "image/jpeg"))]
        )
        problem(r, 422, "unknown_attribute", MARK)
        assert count(runtime, Ticket) == 0 and count(runtime, TicketPhoto) == 0
        ok = await client.post(T, headers=RESIDENT, json={**repair, "attributes": {"item": "裤子"}})
        assert ok.status_code == 201 and ok.json()["attributes"] == {"item": "裤子"}


async def test_a_thirteenth_month_is_a_422(start_runtime, clock):
    """``GET /kpis?month=2026-13`` was a 200 with empty rows."""
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        for month in ("2026-13", "2026-00", "1999-12", "2026-1"):
            r = await client.get("/api/tickets/kpis", headers=STAFF, params={"month": month})
            problem(r, 422, "invalid", month)
        assert (await client.get("/api/tickets/kpis", headers=STAFF, params={"month": "2026-12"})).status_code == 200


def _png(size: tuple[int, int], mode: str = "1") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG", optimize=True)
    return out.getvalue()


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's own alarm at 89 MP
async def test_decompression_bombs_and_oversized_photos_are_refused_from_the_header(start_runtime, clock, settings):
    """A 13,000 × 13,000 PNG of a few KB was a 500 (Pillow's bomb error); 7,000 × 7,000 was decoded in full."""
    bomb, huge = _png((13_000, 13_000)), _png((7_000, 7_000))
    assert len(bomb) < 100_000 and len(huge) < 100_000
    async with start_runtime(["tickets"], clock=clock) as (runtime, client):
        tid = (await report(client))["id"]
        fields = {k: str(v) for k, v in MANHOLE.items()}
        for name, data in (("bomb.png", bomb), ("huge.png", huge)):
            r = await client.post(
                T, headers=RESIDENT, data=fields, files=[("photo", (f"{MARK}{name}", data, "image/png"))]
            )
            assert "megapixels" in problem(r, 413, "photo_pixels")["detail"]
            r = await client.post(f"{T}/{tid}/photos", headers=RESIDENT, files=[("photo", (name, data, "image/png"))])
            problem(r, 413, "photo_pixels")
        assert count(runtime, Ticket) == 1 and count(runtime, TicketPhoto) == 0 and stored_files(settings) == []


async def test_views_link_a_display_copy_and_staff_reach_the_original(start_runtime, clock, settings):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        big = io.BytesIO()
        Image.new("RGB", (3200, 2400), (90, 120, 200)).save(big, "JPEG", quality=90)
        fields = {k: str(v) for k, v in MANHOLE.items()}
        r = await client.post(
            T, headers=RESIDENT, data=fields, files=[("photo", ("big.jpg", big.getvalue(), "image/jpeg"))]
        )
        assert r.status_code == 201, r.text
        view = r.json()
        shown = await client.get(view["media_url"].replace("http://linli.test", ""))
        assert shown.status_code == 200 and Image.open(io.BytesIO(shown.content)).size == (1600, 1200)
        original = await client.get(view["originals"][0].replace("http://linli.test", ""))
        assert Image.open(io.BytesIO(original.content)).size == (3200, 2400)
        assert len(stored_files(settings)) == 2


async def test_photo_files_are_safe_when_a_unit_of_work_runs_twice_or_fails(start_runtime, clock, settings):
    """A unit of work may run twice (``WouldWait``); the old edge removed the photo files it wrote on any
    failure, which could take a file that another ticket shares (same content hash)."""
    from services.tickets.service_layer.media import clean_photos
    from shared.web.runner import Runner

    async with start_runtime(["tickets"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["tickets"]
        run = Runner(ctx.store)
        photos = clean_photos([("p.jpg", jpeg_with_exif())])
        tries = []

        def work(session):
            opened = reports.open_report(
                ctx, session, reporter="resident:zhang-xiaosen", photos=photos, **{k: v for k, v in MANHOLE.items()}
            )
            tries.append(opened.ticket.id)
            if len(tries) == 1:
                raise WouldWait("another process holds the write lock")  # as the store's first try may stop
            return opened.ticket.id

        first = await run(work)
        assert len(tries) == 2 and first == tries[1]
        files = stored_files(settings)
        assert [p.stem for p in files] == [photos[0].sha256]
        assert count(runtime, Ticket) == 1 and count(runtime, TicketPhoto) == 1
        with ctx.store.transaction(readonly=True) as session:
            assert session.exec(select(TicketPhoto.ticket_id)).all() == [first]

        fields = {k: str(v) for k, v in MANHOLE.items()}
        files_in = [("photo", ("same.jpg", jpeg_with_exif(), "image/jpeg"))]
        second = await client.post(T, headers=RESIDENT, data=fields, files=files_in)
        assert second.status_code == 201 and second.json()["photos"][0].endswith(f"{photos[0].sha256}.jpg")

        def failing(session):
            reports.open_report(ctx, session, reporter="resident:zhang-xiaosen", photos=photos, **dict(MANHOLE))
            raise Invalid("a later check refuses the report", code="refused_later")

        with pytest.raises(Invalid):
            await run(failing)
        assert stored_files(settings) == files
        served = await client.get(second.json()["media_url"].replace("http://linli.test", ""))
        assert served.status_code == 200
        assert count(runtime, Ticket) == 2


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_list_limits_are_bounded_and_pages_follow_a_cursor(
    start_runtime, clock, backend, pg_database, monkeypatch
):
    """``limit=-1`` listed every ticket (SQLite's LIMIT -1); ``limit`` is 1-200 now."""
    if backend == "postgresql":
        monkeypatch.setenv("TICKETS_DATABASE_URL", pg_database("tickets"))
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        ids = []
        for _ in range(3):
            ids.append((await report(client))["id"])
            clock.advance(timedelta(minutes=1))
        for url, who in ((T, STAFF), ("/api/tickets/categories", RESIDENT), ("/api/tickets/staff", STAFF)):
            for limit in ("-1", "0", "100000", "99999999999999999999999"):
                problem(await client.get(url, headers=who, params={"limit": limit}), 422, "invalid", limit)
            problem(await client.get(url, headers=who, params={"cursor": MARK}), 422, "bad_cursor", MARK)
        first = (await client.get(T, headers=STAFF, params={"limit": 2})).json()
        assert [t["id"] for t in first["items"]] == ids[::-1][:2] and first["next_cursor"]
        rest = (await client.get(T, headers=STAFF, params={"limit": 2, "cursor": first["next_cursor"]})).json()
        assert [t["id"] for t in rest["items"]] == ids[:1] and rest["next_cursor"] is None
        problem(await client.get(T, headers=STAFF, params={"status": MARK}), 422, "invalid", MARK)
        problem(await client.get(f"{T}/{'T' * 100}", headers=STAFF), 422, "invalid", "TTTT")
        problem(await client.get(f"{T}/TNOPE", headers=STAFF), 404, "not_found")


async def test_open311_errors_are_problems_and_forms_are_utf8(start_runtime, clock):
    """A URL-encoded ``description=路灯不亮`` (raw UTF-8 bytes, as curl -d sends it) was stored as mojibake."""
    async with start_runtime(["tickets"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["tickets"]
        with ctx.store.transaction() as session:
            _row, key = apikeys.create(session, "12345-hotline", ctx.clock.now())
        form = f"api_key={key}&service_code=street_light&lat=38.0421&long=114.5143&description=路灯不亮"
        headers = {"content-type": "application/x-www-form-urlencoded"}
        r = await client.post("/open311/v2/requests.json", content=form.encode(), headers=headers)
        assert r.status_code == 201, r.text
        rid = r.json()[0]["service_request_id"]
        assert (await client.get(f"/open311/v2/requests/{rid}.json")).json()[0]["description"] == "路灯不亮"
        before = count(runtime, Ticket)
        for bad, status, code in (
            (form.replace("lat=38.0421", "lat=1e400"), 422, "invalid"),
            (form.replace("description=路灯不亮", f"description={MARK}" + "x" * 5000), 422, "invalid"),
            (form + f"&attribute[{MARK}]=1", 400, "unknown_attribute"),
        ):
            problem(
                await client.post("/open311/v2/requests.json", content=bad.encode(), headers=headers),
                status,
                code,
                MARK,
            )
        latin = form.encode().replace("路灯不亮".encode(), "路灯".encode("gbk"))
        problem(await client.post("/open311/v2/requests.json", content=latin, headers=headers), 422, "bad_encoding")
        problem(await client.get("/open311/v2/requests.json", params={"page_size": 100000}), 422, "invalid")
        problem(await client.get("/open311/v2/requests.json", params={"start_date": MARK}), 400, "bad_date", MARK)
        problem(await client.get(f"/open311/v2/services/{MARK}.json"), 404, "not_found")
        assert count(runtime, Ticket) == before
        with ctx.store.transaction(readonly=True) as session:
            assert session.get(Category, "street_light").response_hours == 24
