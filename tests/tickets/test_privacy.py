"""Public by rule, private by default for homes (issue 15): each hole found on 60f56e5, closed.

- a hazard from a volunteer's visit was listed without login with the elder's flat and the fault in it;
- public Open311 notes named staff (``自动派单给 孙伟（维修）``);
- every photo was served without login (``cache-control: public``), also one taken inside a home;
- a staff member of one community listed and acted on another community's tickets.
"""

from __future__ import annotations

import re
from datetime import timedelta

import redis.asyncio as aredis

from shared.events.envelope import new_event
from shared.events.volunteers import VisitHazardFound
from shared.messaging.streams import StreamNames, encode_entry
from tests.conftest import eventually, token
from tests.tickets.helpers import MANHOLE, NEIGHBOUR, RESIDENT, STAFF, jpeg_with_exif, png_bytes

FLAT = ("5号楼", "1单元", "3层", "厨房", "燃气软管老化开裂")
OPERATOR = token("operator:ops", "operator")


def _hazard() -> object:
    return new_event(
        VisitHazardFound(
            elder_id="E-3",
            community="际华苑",
            building="5",
            unit="1",
            hazard_id="H-FLAT",
            visit_id="V-3",
            category="gas",
            description="际华苑 5号楼 1单元 3层 厨房 | 燃气软管老化开裂",
            address="际华苑5号楼1单元3层",
            reported_by="volunteer:zhang-xiuqin",
        ),
        subject="V-3",
    )


async def _hazard_ticket(client, settings) -> str:
    event = _hazard()
    r = aredis.Redis.from_url(settings.redis_url)
    await r.xadd(StreamNames(settings.stream_prefix).events("volunteers"), encode_entry(event.to_json(), event.type))
    await r.aclose()

    async def opened():
        rows = (await client.get("/api/tickets/tickets", headers=STAFF)).json()["items"]
        return rows[0]["id"] if rows else None

    return await eventually(opened)


def _leaks(text: str) -> list[str]:
    return [part for part in FLAT if part in text]


async def test_a_hazard_from_a_home_visit_shows_only_its_community_in_public(start_runtime, clock, settings):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        ticket_id = await _hazard_ticket(client, settings)
        await client.post(f"/api/tickets/tickets/{ticket_id}/acknowledge", headers=STAFF, json={"note": "已受理"})

        listed = await client.get("/open311/v2/requests.json")
        one = await client.get(f"/open311/v2/requests/{ticket_id}.json")
        xml = await client.get(f"/open311/v2/requests/{ticket_id}.xml")
        neighbour = await client.get(f"/api/tickets/tickets/{ticket_id}", headers=NEIGHBOUR)
        for answer in (listed, one, xml, neighbour):
            assert answer.status_code == 200
            assert not _leaks(answer.text), answer.text
        (row,) = [r for r in listed.json() if r["service_request_id"] == ticket_id]
        assert row["address"] == "际华苑" and row["lat"] is None and row["media_url"] is None
        assert all(note["description"] == "" for note in row["notes"])
        public = neighbour.json()
        assert public["view"] == "public" and public["private"] is True
        assert public["community"] == "际华苑" and public["building"] is None and public["address"] is None

        # staff of the community and the volunteer who found it still see everything
        full = (await client.get(f"/api/tickets/tickets/{ticket_id}", headers=STAFF)).json()
        assert full["unit"] == "1" and "燃气软管老化开裂" in full["description"]


async def test_a_category_inside_a_home_is_private_whoever_reports_it(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        report = {**MANHOLE, "category": "home_hazard", "description": "家里3层厨房燃气软管老化开裂", "unit": "1"}
        ticket_id = (await client.post("/api/tickets/tickets", headers=RESIDENT, json=report)).json()["id"]
        seen = await client.get(f"/api/tickets/tickets/{ticket_id}", headers=NEIGHBOUR)
        assert seen.json()["building"] is None and "燃气软管" not in seen.text
        listed = (await client.get("/open311/v2/requests.json")).text
        assert "燃气软管" not in listed and "亚龙花园" not in listed
        # a neighbour filing nearby is not pointed at the flat, nor can follow it
        other = {**MANHOLE, "category": "home_hazard", "description": "楼道有燃气味"}
        opened = (await client.post("/api/tickets/tickets", headers=NEIGHBOUR, json=other)).json()
        assert opened["similar"] == []
        assert (await client.post(f"/api/tickets/tickets/{ticket_id}/follow", headers=NEIGHBOUR)).status_code == 404


async def test_public_notes_name_no_staff(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        duty = {"display_name": "孙伟（维修）", "on_duty": True}
        assert (await client.put("/api/tickets/staff/maintenance/staff:sun-wei", headers=STAFF, json=duty)).is_success
        ticket_id = (await client.post("/api/tickets/tickets", headers=RESIDENT, json=MANHOLE)).json()["id"]
        acked = await client.post(f"/api/tickets/tickets/{ticket_id}/acknowledge", headers=STAFF, json={})
        assert "自动派单给 孙伟（维修）" in acked.text  # staff see whom it went to

        for path in ("/open311/v2/requests.json", f"/open311/v2/requests/{ticket_id}.xml"):
            text = (await client.get(path)).text
            assert "孙伟" not in text and "staff:" not in text, text
        public = await client.get(f"/api/tickets/tickets/{ticket_id}", headers=NEIGHBOUR)
        assert "孙伟" not in public.text and "staff:" not in public.text


async def test_a_private_tickets_photo_needs_its_short_lived_signed_link(start_runtime, clock, settings):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        photo = [("photo", ("kitchen.jpg", jpeg_with_exif(), "image/jpeg"))]
        fields = {"category": "home_hazard", "title": "燃气软管", "description": "厨房", "community": "北翟营"}
        private = (await client.post("/api/tickets/tickets", headers=RESIDENT, data=fields, files=photo)).json()
        street = {k: str(v) for k, v in MANHOLE.items()}
        public = (
            await client.post(
                "/api/tickets/tickets",
                headers=RESIDENT,
                data=street,
                files=[("photo", ("lamp.png", png_bytes(), "image/png"))],
            )
        ).json()

        signed = private["media_url"]
        assert re.search(r"\?exp=\d+&sig=[0-9a-f]{64}$", signed), signed
        bare = signed.split("?")[0].replace("http://linli.test", "")
        assert (await client.get(bare)).status_code == 404  # no link, no photo: as if it did not exist
        forged = bare + "?exp=9999999999&sig=" + "0" * 64
        assert (await client.get(forged)).status_code == 404
        opened = await client.get(signed.replace("http://linli.test", ""))
        assert opened.status_code == 200 and opened.headers["content-type"] == "image/jpeg"
        assert opened.headers["cache-control"].startswith("private")

        clock.advance(timedelta(minutes=16))  # the link has expired
        assert (await client.get(signed.replace("http://linli.test", ""))).status_code == 404

        # a different photo on a public ticket: public and cached for good
        street_photo = await client.get(public["media_url"].replace("http://linli.test", ""))
        assert public["private"] is False and "?" not in public["media_url"]
        assert street_photo.status_code == 200 and street_photo.headers["cache-control"].startswith("public")


async def test_staff_see_and_act_only_on_the_communities_they_serve(start_runtime, clock):
    beizhaiying = token("staff:bzy", "staff", community="北翟营")
    mingzhu = token("staff:mzhy", "staff", community="明珠花苑")
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        ticket_id = (await client.post("/api/tickets/tickets", headers=RESIDENT, json=MANHOLE)).json()["id"]

        assert (await client.get("/api/tickets/tickets", headers=mingzhu)).json()["items"] == []
        assert [r["id"] for r in (await client.get("/api/tickets/tickets", headers=beizhaiying)).json()["items"]] == [
            ticket_id
        ]
        other = await client.get(f"/api/tickets/tickets/{ticket_id}", headers=mingzhu)
        assert other.json()["view"] == "public" and "zhang-xiaosen" not in other.text
        refused = await client.post(f"/api/tickets/tickets/{ticket_id}/acknowledge", headers=mingzhu, json={})
        assert refused.status_code == 404
        assert (await client.get("/api/tickets/kpis", headers=mingzhu)).json()["rows"] == []
        assert (await client.get("/api/tickets/kpis", headers=beizhaiying)).json()["rows"][0]["total"] == 1
        assert (await client.get("/api/tickets/kpis", headers=OPERATOR)).json()["rows"][0]["total"] == 1
        acked = await client.post(f"/api/tickets/tickets/{ticket_id}/acknowledge", headers=beizhaiying, json={})
        assert acked.status_code == 200


def test_only_staff_written_status_notes_are_public():
    from services.tickets.domain.disclosure import public_note

    assert public_note("resolve", "井盖已更换", private=False, actor="staff:zhao-gang") == "井盖已更换"
    assert public_note("assign", "自动派单给 孙伟（维修）", private=False, actor="system:round-robin") is None
    booked = "已预约小修小补：谷春肖（缝补），12月03日 09:00，匠人坊，第 3 号"
    assert public_note("acknowledge", booked, private=False, actor="system:activities") is None
    assert public_note("rate", "师傅很好", private=False, actor="resident:zhang-xiaosen") is None
    assert public_note("resolve", "已更换燃气软管", private=True, actor="staff:zhao-gang") is None
