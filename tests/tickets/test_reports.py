"""Reporting: categories as data, photos (checks, EXIF stripped, served back), duplicates, following, access."""

import io

import pytest
from PIL import Image

from tests.conftest import eventually, token
from tests.tickets.helpers import (
    MANHOLE,
    NEIGHBOUR,
    RESIDENT,
    STAFF,
    VOLUNTEER,
    jpeg_with_exif,
    png_bytes,
    published,
    report,
)


async def test_categories_are_seeded_data_with_deadlines_and_staff_can_add_one(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        r = await client.get("/api/tickets/categories")
        assert r.status_code == 200
        by_code = {c["code"]: c for c in r.json()["items"]}
        assert len(r.json()["items"]) == 14 and r.json()["next_cursor"] is None
        assert {
            "manhole",
            "street_light",
            "leak",
            "electrical",
            "lift",
            "sanitation",
            "noise",
            "greening",
            "parking",
            "repair_clothes",
            "repair_shoes",
            "repair_watch",
            "repair_appliance",
        } <= set(by_code)
        assert by_code["manhole"]["safety_critical"] and by_code["manhole"]["response_hours"] == 2
        assert by_code["noise"]["response_hours"] == 24

        body = {"name": "宠物扰民", "response_hours": 12, "resolution_hours": 48, "supervisor": "staff:wang"}
        assert (await client.put("/api/tickets/categories/pets", headers=RESIDENT, json=body)).status_code == 403
        assert (await client.put("/api/tickets/categories/pets", json=body)).status_code == 401
        r = await client.put("/api/tickets/categories/pets", headers=STAFF, json=body)
        assert r.status_code == 200, r.text
        codes = [c["code"] for c in (await client.get("/api/tickets/categories")).json()["items"]]
        assert "pets" in codes


async def test_a_changed_or_retired_category_applies_to_the_next_report_at_once(start_runtime, clock):
    """Reports read their category from a short per-process cache; saving the category here drops it."""
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        first = await report(client)  # manhole: 2 h to the first response (and now in the cache)
        assert first["first_response_due"].startswith("2026-11-28T04:00")
        r = await client.put("/api/tickets/categories/manhole", headers=STAFF, json={"response_hours": 1})
        assert r.status_code == 200, r.text
        second = await report(client)
        assert second["first_response_due"].startswith("2026-11-28T03:00")
        r = await client.put("/api/tickets/categories/manhole", headers=STAFF, json={"active": False})
        assert r.status_code == 200, r.text
        r = await client.post("/api/tickets/tickets", headers=RESIDENT, json=MANHOLE)
        assert r.status_code == 404 and "no category" in r.json()["detail"]


async def test_report_gets_deadlines_and_unknown_category_is_refused(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        ticket = await report(client)
        assert ticket["status"] == "submitted"
        assert ticket["first_response_due"].startswith("2026-11-28T04:00")  # manhole: 2 h after 02:00 UTC
        assert ticket["first_response_due_local"].startswith("2026-11-28T12:00:00+08:00")
        assert ticket["resolution_due"].startswith("2026-11-29T02:00")
        r = await client.post("/api/tickets/tickets", headers=RESIDENT, json={**MANHOLE, "category": "ufo"})
        assert r.status_code == 404 and "no category" in r.json()["detail"]
        r = await client.post("/api/tickets/tickets", headers=RESIDENT, json={**MANHOLE, "description": "x" * 4001})
        assert r.status_code == 422
        r = await client.post("/api/tickets/tickets", headers=VOLUNTEER, json=MANHOLE)
        assert r.status_code == 403
        r = await client.post(
            "/api/tickets/tickets", headers=RESIDENT, json={**MANHOLE, "category": "leak"}
        )  # leak requires the 'medium' attribute
        assert r.status_code == 422 and "medium" in r.json()["detail"]
        r = await client.post(
            "/api/tickets/tickets",
            headers=RESIDENT,
            json={**MANHOLE, "category": "leak", "attributes": {"medium": "gas"}},
        )
        assert r.status_code == 201 and r.json()["attributes"] == {"medium": "gas"}


async def test_photos_are_stripped_of_exif_stored_by_hash_and_served(start_runtime, clock, settings):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        raw = jpeg_with_exif()
        assert b"TestCam" in raw
        fields = {k: str(v) for k, v in MANHOLE.items()}
        webp = io.BytesIO()
        Image.new("RGB", (16, 16), (0, 0, 255)).save(webp, "WEBP")
        files = [
            ("photo", ("IMG_0001.dat", raw, "application/octet-stream")),
            ("photo", ("x.png", png_bytes(), "image/png")),
            ("photo", ("named-wrong.jpg", webp.getvalue(), "image/jpeg")),
        ]
        r = await client.post("/api/tickets/tickets", headers=RESIDENT, data=fields, files=files)
        assert r.status_code == 201, r.text
        ticket = r.json()
        assert len(ticket["photos"]) == 3 and ticket["media_url"] == ticket["photos"][0]
        assert ticket["photos"][2].endswith(".webp")  # type from the bytes, not the name
        served = await client.get(ticket["media_url"].replace("http://linli.test", ""))
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        assert b"TestCam" not in served.content
        img = Image.open(io.BytesIO(served.content))
        assert dict(img.getexif()) == {} and img.size == (40, 30)
        stored = list((settings.var_dir / "media" / "tickets").rglob("*.*"))
        assert {p.suffix for p in stored} == {".jpg", ".png", ".webp"}
        assert all(len(p.stem) == 64 for p in stored)
        assert (await client.get("/api/tickets/media/" + "0" * 64 + ".jpg")).status_code == 404


async def test_bad_oversized_or_too_many_photos_are_refused_and_nothing_is_stored(start_runtime, clock, settings):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        fields = {k: str(v) for k, v in MANHOLE.items()}
        good = ("photo", ("ok.jpg", jpeg_with_exif(), "image/jpeg"))
        fake = ("photo", ("looks.jpg", b"%PDF-1.4 not an image", "image/jpeg"))
        r = await client.post("/api/tickets/tickets", headers=RESIDENT, data=fields, files=[good, fake])
        assert r.status_code == 415 and "looks.jpg" in r.json()["detail"]
        broken = ("photo", ("broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 50, "image/jpeg"))
        r = await client.post("/api/tickets/tickets", headers=RESIDENT, data=fields, files=[broken])
        assert r.status_code == 422
        big = ("photo", ("big.jpg", b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024), "image/jpeg"))
        r = await client.post("/api/tickets/tickets", headers=RESIDENT, data=fields, files=[big])
        assert r.status_code == 413 and "10 MB" in r.json()["detail"]
        seven = [("photo", (f"{i}.jpg", jpeg_with_exif(color=(i * 30, 0, 0)), "image/jpeg")) for i in range(7)]
        r = await client.post("/api/tickets/tickets", headers=RESIDENT, data=fields, files=seven)
        assert r.status_code == 413
        media = settings.var_dir / "media" / "tickets"
        assert not media.exists() or not list(media.rglob("*.*"))
        assert (await client.get("/api/tickets/tickets", headers=RESIDENT)).json()["items"] == []
        assert await published(settings, type_suffix="TicketOpened") == []


async def test_duplicates_are_suggested_and_following_publishes_ticket_followed(start_runtime, clock, settings):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        first = await report(client)
        near = {**MANHOLE, "building": "9", "lat": 38.0534, "lon": 114.4486}  # ~25 m away
        second = await report(client, near, headers=NEIGHBOUR)
        assert [s["id"] for s in second["similar"]] == [first["id"]]
        assert "reporter" not in second["similar"][0]
        far = {**MANHOLE, "building": "20", "lat": 38.0600, "lon": 114.4485}  # ~750 m away
        assert (await report(client, far, headers=NEIGHBOUR))["similar"] == []
        same_building = {**MANHOLE, "lat": None, "lon": None}
        assert first["id"] in [s["id"] for s in (await report(client, same_building, headers=NEIGHBOUR))["similar"]]

        r = await client.post(f"/api/tickets/tickets/{first['id']}/follow", headers=NEIGHBOUR)
        assert r.status_code == 200 and r.json()["new"] is True
        assert (await client.post(f"/api/tickets/tickets/{first['id']}/follow", headers=NEIGHBOUR)).json()[
            "new"
        ] is False
        assert (await client.post(f"/api/tickets/tickets/{first['id']}/follow", headers=STAFF)).status_code == 403
        assert (await client.post(f"/api/tickets/tickets/{first['id']}/follow")).status_code == 401
        followed = await eventually(lambda: published(settings, type_suffix="TicketFollowed"))
        assert followed[0]["data"]["follower"] == "resident:zhao-xiaotong"
        assert followed[0]["data"]["reporter"] == "resident:zhang-xiaosen"
        full = (await client.get(f"/api/tickets/tickets/{first['id']}", headers=STAFF)).json()
        assert full["followers"] == ["resident:zhao-xiaotong"]


async def test_reporter_and_staff_see_full_view_other_residents_the_anonymised_one(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        ticket = await report(client)
        path = f"/api/tickets/tickets/{ticket['id']}"
        mine = (await client.get(path, headers=RESIDENT)).json()
        assert mine["reporter"] == "resident:zhang-xiaosen"
        staff = (await client.get(path, headers=STAFF)).json()
        assert staff["reporter"] == "resident:zhang-xiaosen"
        other = await client.get(path, headers=NEIGHBOUR)
        assert other.status_code == 200
        assert "reporter" not in other.json() and "contact" not in other.json()
        assert "zhang" not in other.text and all("actor" not in h for h in other.json()["history"])
        assert (await client.get(path)).status_code == 401
        volunteer = await client.get(path, headers=VOLUNTEER)  # not the reporter: the anonymised view
        assert volunteer.status_code == 200 and "reporter" not in volunteer.json()
        assert (await client.get(path, headers=token("partner:lib", "partner"))).status_code == 403
        assert (await client.get("/api/tickets/tickets/TNOPE", headers=STAFF)).status_code == 404
        # residents list only their own reports; staff list all
        await report(client, headers=NEIGHBOUR)
        assert len((await client.get("/api/tickets/tickets", headers=RESIDENT)).json()["items"]) == 1
        assert len((await client.get("/api/tickets/tickets", headers=STAFF)).json()["items"]) == 2


async def test_reporter_or_staff_add_photos_later_others_are_refused(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        tid = (await report(client))["id"]
        url = f"/api/tickets/tickets/{tid}/photos"

        def one(i):
            return [("photo", (f"{i}.jpg", jpeg_with_exif(color=(i * 40, 10, 10)), "image/jpeg"))]

        r = await client.post(url, headers=RESIDENT, files=one(1))
        assert r.status_code == 201 and len(r.json()["photos"]) == 1
        assert (await client.post(url, headers=STAFF, files=one(2))).status_code == 201
        assert (await client.post(url, headers=NEIGHBOUR, files=one(3))).status_code == 403
        assert (await client.post(url, headers=VOLUNTEER, files=one(3))).status_code == 403
        assert (await client.post(url, files=one(3))).status_code == 401
        assert (await client.post(url, headers=RESIDENT, data={"x": "1"})).status_code == 422
        many = [p for i in range(3, 8) for p in one(i)]
        assert (await client.post(url, headers=RESIDENT, files=many)).status_code == 413  # 2 + 5 > 6
        assert len((await client.get(f"/api/tickets/tickets/{tid}", headers=RESIDENT)).json()["photos"]) == 2


def test_every_tickets_route_declares_its_roles():
    from types import SimpleNamespace

    from services.tickets.entrypoints.http import build_router
    from services.tickets.entrypoints.open311 import build_open311_router
    from shared.web.auth import declared_routes

    ctx = SimpleNamespace(store=None)
    routes = [r for make in (build_router, build_open311_router) for r in declared_routes(make(ctx).routes)]
    assert len(routes) > 25
    assert [path for _methods, path, roles in routes if roles is None] == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_report_and_its_first_history_entry_are_stored_rows_of_the_transaction(
    start_runtime, clock, backend, pg_database, monkeypatch
):
    """open_report inserts the ticket and its first history entry directly (no unit-of-work flush); they
    still belong to the session: a change in the same transaction is stored, and the entry has its id."""
    from sqlmodel import Session, select

    from services.tickets.adapters.orm import Ticket, TicketHistory
    from services.tickets.service_layer import reports

    if backend == "postgresql":
        monkeypatch.setenv("TICKETS_DATABASE_URL", pg_database("tickets"))
    async with start_runtime(["tickets"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["tickets"]
        with ctx.store.transaction() as session:
            opened = reports.open_report(
                ctx,
                session,
                category="manhole",
                title="井盖松动",
                description="3号楼前",
                reporter="resident:zhang-xiaosen",
                community="北翟营",
                building="3",
            )
            assert opened.history[0].id is not None
            opened.ticket.assignee = "staff:li-yao"  # an UPDATE at commit
        with Session(ctx.store.engine) as session:
            stored = session.get(Ticket, opened.ticket.id)
            entries = session.exec(select(TicketHistory).where(TicketHistory.ticket_id == stored.id)).all()
        assert stored.assignee == "staff:li-yao" and stored.title == "井盖松动" and stored.building == "3"
        assert [(e.id, e.action, e.to_status) for e in entries] == [(opened.history[0].id, "open", "submitted")]
        r = await client.get(f"/api/tickets/tickets/{stored.id}", headers=STAFF)
        assert r.status_code == 200 and r.json()["history"][0]["action"] == "open"
