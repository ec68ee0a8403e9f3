"""Open311 GeoReport v2 at /open311/v2: services, definitions, requests (JSON and XML), api_key,
the 90-day limit, errors bodies, tokens and the anonymised public view with notes."""

from datetime import timedelta
from xml.etree import ElementTree as ET

from services.tickets.service_layer import apikeys
from tests.tickets.helpers import RESIDENT, STAFF, report

O = "/open311/v2"


def new_key(runtime, name="12345-hotline") -> tuple[str, str]:
    ctx = runtime.contexts["tickets"]
    with ctx.store.transaction() as session:
        row, plain = apikeys.create(session, name, ctx.clock.now())
    return row.id, plain


async def test_services_and_definitions_in_json_and_xml(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        r = await client.get(f"{O}/services.json")
        assert r.status_code == 200
        leak = next(s for s in r.json() if s["service_code"] == "leak")
        assert leak == {
            "service_code": "leak",
            "service_name": "漏水/燃气泄漏",
            "description": leak["description"],
            "metadata": True,
            "type": "realtime",
            "keywords": "漏水,燃气,煤气",
            "group": "安全隐患",
        }
        r = await client.get(f"{O}/services.xml")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
        root = ET.fromstring(r.content)
        assert root.tag == "services"
        assert "manhole" in [s.findtext("service_code") for s in root.findall("service")]

        r = await client.get(f"{O}/services/leak.json")
        attr = r.json()["attributes"][0]
        assert r.json()["service_code"] == "leak"
        assert attr["code"] == "medium" and attr["required"] is True and attr["datatype"] == "singlevaluelist"
        assert [v["key"] for v in attr["values"]] == ["water", "gas"] and attr["order"] == 1
        root = ET.fromstring((await client.get(f"{O}/services/leak.xml")).content)
        assert root.tag == "service_definition"
        assert root.find("attributes/attribute/values/value/key").text == "water"

        r = await client.get(f"{O}/services/ufo.json")
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 404 and "ufo" in r.json()["detail"]  # GeoReport errors as RFC 9457 problems
        r = await client.get(f"{O}/services/ufo.xml")
        assert r.status_code == 404 and r.json()["status"] == 404
        assert (await client.get(f"{O}/services.yaml")).status_code == 404


async def test_post_needs_a_valid_api_key_and_answers_id_and_token(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (runtime, client):
        key_id, key = new_key(runtime)
        form = {
            "service_code": "street_light",
            "lat": "38.0421",
            "long": "114.5143",
            "description": "明珠花苑东门路灯不亮",
            "email": "li@example.com",
            "first_name": "Li",
            "phone": "13812345678",
        }
        r = await client.post(f"{O}/requests.json", data=form)
        assert r.status_code == 403 and r.json()["status"] == 403
        assert (await client.post(f"{O}/requests.json", data={**form, "api_key": "wrong"})).status_code == 403
        r = await client.post(f"{O}/requests.json", data={**form, "api_key": key})
        assert r.status_code == 201, r.text
        created = r.json()[0]
        rid, tok = created["service_request_id"], created["token"]
        r = await client.get(f"{O}/tokens/{tok}.json")
        assert r.json() == [{"service_request_id": rid, "token": tok}]
        assert (await client.get(f"{O}/tokens/nope.json")).status_code == 404

        bad = await client.post(f"{O}/requests.json", data={**form, "api_key": key, "service_code": "ufo"})
        assert bad.status_code == 404
        no_place = {k: v for k, v in form.items() if k not in ("lat", "long")}
        bad = await client.post(f"{O}/requests.xml", data={**no_place, "api_key": key})
        assert bad.status_code == 400 and "location" in bad.json()["detail"]
        bad = await client.post(f"{O}/requests.json", data={**form, "api_key": key, "service_code": "leak"})
        assert bad.status_code == 400 and "medium" in bad.json()["detail"]
        ok = await client.post(
            f"{O}/requests.xml", data={**form, "api_key": key, "service_code": "leak", "attribute[medium]": "gas"}
        )
        assert ok.status_code == 201 and ET.fromstring(ok.content).findtext("request/service_request_id")

        ctx = runtime.contexts["tickets"]
        with ctx.store.transaction() as session:
            apikeys.revoke(session, key_id, ctx.clock.now())
        assert (await client.post(f"{O}/requests.json", data={**form, "api_key": key})).status_code == 403

        # staff see the Open311 contact (phone masked); the public view has none of it
        staff_view = (await client.get(f"/api/tickets/tickets/{rid}", headers=STAFF)).json()
        assert staff_view["contact"]["email"] == "li@example.com"
        assert staff_view["contact"]["phone_masked"] == "138****5678" and "13812345678" not in str(staff_view)
        public = await client.get(f"{O}/requests/{rid}.json")
        assert "li@example.com" not in public.text and "Li" not in public.text
        assert "5678" not in public.text.replace(rid, "")  # the phone, masked or not (ids are random hex)


async def test_requests_json_xml_filters_notes_and_anonymised_view(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        t1 = (await report(client))["id"]
        t2 = (
            await report(
                client,
                {
                    "category": "noise",
                    "title": "夜间装修",
                    "description": "晚上11点还在装修",
                    "community": "智汇城",
                    "building": "7",
                },
            )
        )["id"]
        await client.post(f"/api/tickets/tickets/{t1}/acknowledge", headers=STAFF, json={"note": "已受理，马上到"})
        await client.post(f"/api/tickets/tickets/{t1}/resolve", headers=STAFF, json={"note": "井盖已固定"})
        r = await client.post(
            f"/api/tickets/tickets/{t1}/rate",
            headers=RESIDENT,
            json={"rating": 5, "comment": "谢谢，我在3号楼2单元501"},
        )
        assert r.status_code == 200

        r = await client.get(f"{O}/requests/{t1}.json")
        assert r.status_code == 200
        req = r.json()[0]
        assert req["service_request_id"] == t1 and req["status"] == "closed" and req["service_code"] == "manhole"
        assert req["status_notes"] == "井盖已固定" and req["lat"] == 38.0532 and req["long"] == 114.4485
        assert req["requested_datetime"] == "2026-11-28T10:00:00+08:00"
        assert [n["type"] for n in req["notes"]] == ["open", "acknowledge", "resolve", "rate"]
        assert "501" not in r.text  # residents' own comments stay private
        assert "zhang-xiaosen" not in r.text and "li-yao" not in r.text and "reporter" not in req
        open_req = (await client.get(f"{O}/requests/{t2}.json")).json()[0]
        assert open_req["status"] == "open" and open_req["expected_datetime"] == "2026-12-01T10:00:00+08:00"
        assert (await client.get(f"{O}/requests/TNOPE.json")).status_code == 404

        all_ids = [x["service_request_id"] for x in (await client.get(f"{O}/requests.json")).json()]
        assert sorted(all_ids) == sorted([t1, t2])
        only_open = (await client.get(f"{O}/requests.json", params={"status": "open"})).json()
        assert [x["service_request_id"] for x in only_open] == [t2]
        by_code = (await client.get(f"{O}/requests.json", params={"service_code": "manhole"})).json()
        assert [x["service_request_id"] for x in by_code] == [t1]
        by_id = (await client.get(f"{O}/requests.json", params={"service_request_id": f"{t2},{t1}"})).json()
        assert len(by_id) == 2
        root = ET.fromstring((await client.get(f"{O}/requests.xml", params={"status": "closed"})).content)
        assert root.tag == "service_requests" and root.findtext("request/service_request_id") == t1
        assert [n.findtext("type") for n in root.findall("request/notes/note")] == [
            "open",
            "acknowledge",
            "resolve",
            "rate",
        ]
        assert (await client.get(f"{O}/requests.json", params={"status": "pending"})).status_code == 400


async def test_the_90_day_limit_and_date_window(start_runtime, clock):
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        old = (await report(client))["id"]
        clock.advance(timedelta(days=100))
        new = (await report(client))["id"]
        default = [x["service_request_id"] for x in (await client.get(f"{O}/requests.json")).json()]
        assert default == [new]  # by default only the last 90 days
        r = await client.get(
            f"{O}/requests.json",
            params={"start_date": "2026-11-01T00:00:00+08:00", "end_date": "2026-12-01T00:00:00+08:00"},
        )
        assert [x["service_request_id"] for x in r.json()] == [old]
        r = await client.get(
            f"{O}/requests.json", params={"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-12-01T00:00:00Z"}
        )
        assert r.status_code == 400 and "90 days" in r.json()["detail"]
        r = await client.get(
            f"{O}/requests.xml", params={"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-12-01T00:00:00Z"}
        )
        assert r.status_code == 400 and "90 days" in r.json()["detail"]
        r = await client.get(f"{O}/requests.json", params={"start_date": "yesterday"})
        assert r.status_code == 400
        assert (await client.get(f"{O}/requests.json", headers=RESIDENT)).status_code == 200
