"""Check-in at the door by the code in the sign-up's QR; no-shows counted, and the optional no-show rule."""

from __future__ import annotations

from datetime import timedelta

from services.activities.config import activities_settings
from services.activities.jobs import tick
from tests.activities.conftest import MOTHER, NEIGHBOUR, ORGANISER, STAFF, events, publish, room, sign_up
from tests.conftest import eventually, token


async def test_the_door_scan_checks_in_once_and_the_rest_are_no_shows(start_runtime, clock, settings, stream):
    async with start_runtime(["activities"], clock=clock) as (runtime, client):
        venue = await room(client)
        (session,) = (await publish(client, venue, clock, organiser="volunteer:zhc-jianzhi"))["sessions"]
        mine = (await sign_up(client, session["id"], MOTHER)).json()
        other = (await sign_up(client, session["id"], NEIGHBOUR)).json()
        code = mine["checkin_code"]

        # the organiser scans at the door; a stranger's volunteer token cannot
        stranger = token("volunteer:someone-else", "volunteer")
        assert (await client.post("/api/activities/checkin", headers=stranger, json={"code": code})).status_code == 404
        r = await client.post("/api/activities/checkin", headers=ORGANISER, json={"code": code})
        assert r.status_code == 200 and r.json()["attended"] is True and r.json()["checked_in_at"]
        again = await client.post("/api/activities/checkin", headers=STAFF, json={"code": code})
        assert again.status_code == 409 and again.json()["code"] == "already_checked_in"
        forged = code[:-4] + ("AAAA" if not code.endswith("AAAA") else "BBBB")
        r = await client.post("/api/activities/checkin", headers=STAFF, json={"code": forged})
        assert r.status_code == 422 and r.json()["code"] == "bad_checkin_code"
        r = await client.post("/api/activities/checkin", headers=STAFF, json={"code": f"{other['id']}.x"})
        assert r.status_code == 422

        clock.advance(timedelta(days=3, hours=2))  # the session is over
        assert tick(runtime.contexts["activities"], clock.now()) == 1
        assert tick(runtime.contexts["activities"], clock.now()) == 0
        shown = (await client.get(f"/api/activities/signups/{other['id']}", headers=NEIGHBOUR)).json()
        assert shown["attended"] is False
        recorded = await eventually(
            lambda: (
                len(events(settings.redis_url, stream, "AttendanceRecorded")) == 2
                and events(settings.redis_url, stream, "AttendanceRecorded")
            )
        )
        assert [(e["data"]["attended"], e["data"]["how"]) for e in recorded] == [(True, "scan"), (False, "no_show")]


async def test_repeated_no_shows_limit_sign_ups_when_the_rule_is_on(start_runtime, clock, monkeypatch):
    monkeypatch.setenv("ACTIVITIES_NO_SHOW_LIMIT", "2")
    activities_settings.cache_clear()
    try:
        async with start_runtime(["activities"], clock=clock) as (runtime, client):
            venue = await room(client)
            for _ in range(2):
                (session,) = (await publish(client, venue, clock, days=2))["sessions"]
                assert (await sign_up(client, session["id"], NEIGHBOUR)).status_code == 201
                clock.advance(timedelta(days=2, hours=3))
                tick(runtime.contexts["activities"], clock.now())
            (session,) = (await publish(client, venue, clock, days=2))["sessions"]
            r = await sign_up(client, session["id"], NEIGHBOUR)
            assert r.status_code == 409 and r.json()["code"] == "no_show_limit"
            assert (await sign_up(client, session["id"], MOTHER)).status_code == 201
    finally:
        activities_settings.cache_clear()


async def test_the_sign_up_s_qr_image_decodes_to_its_check_in_code_and_opens_the_door(start_runtime, clock):
    """What the mother's phone shows at the door: a QR (not a Micro QR, which phones cannot read) holding the
    signed code; read back by zxing-cpp, a real decoder, as a door reader would."""
    import io
    import re

    import zxingcpp
    from PIL import Image

    async with start_runtime(["activities"], clock=clock) as (_, client):
        venue = await room(client)
        (session,) = (await publish(client, venue, clock, capacity=1))["sessions"]
        mine = (await sign_up(client, session["id"], MOTHER, participant="小雨", age=8, guardian=True)).json()
        waiting = (await sign_up(client, session["id"], NEIGHBOUR)).json()
        assert waiting["status"] == "waitlisted"
        url = f"/api/activities/signups/{mine['id']}/qr"

        png = await client.get(url, headers=MOTHER)
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
        assert found.format == zxingcpp.BarcodeFormat.QRCode
        assert found.text == mine["checkin_code"]

        svg = await client.get(url, headers=MOTHER, params={"format": "svg", "scale": 4})
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        width = int(re.search(r'width="(\d+)"', svg.text).group(1))
        modules = Image.open(io.BytesIO(png.content)).size[0] // 8
        assert width == modules * 4  # the same symbol, drawn at another scale

        assert (await client.get(url, headers=NEIGHBOUR)).status_code == 404  # another household's place
        r = await client.get(f"/api/activities/signups/{waiting['id']}/qr", headers=NEIGHBOUR)
        assert r.status_code == 409 and r.json()["code"] == "no_checkin_code"  # a waitlisted sign-up has none
        assert (await client.get(url, headers=MOTHER, params={"scale": 500})).status_code == 422

        r = await client.post("/api/activities/checkin", headers=STAFF, json={"code": found.text})
        assert r.status_code == 200 and r.json()["attended"] is True
