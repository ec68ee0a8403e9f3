"""Through the gateway (Debian's nginx running deploy/nginx/) in front of one OS process per service, as a
client and a partner would use it: reports with photos, a partner's return, the inbox stream, the limits."""

from __future__ import annotations

import asyncio
import io
import json
import re
import ssl
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
from PIL import Image

from services.library.domain.signature import sign
from shared.web.jwks import Signer
from tests.conftest import eventually, token
from tests.gateway.conftest import APP_ORIGIN
from tests.gateway.deployment import SMS_DOMAIN
from tests.gateway.nginx import REPO
from tests.notify.conftest import Mailbox

STAFF = token("staff:li-yao", "staff", name="李瑶")
RESIDENT = token("resident:zhang-xiaosen", "resident", name="张晓森")
OPERATOR = token("operator:wang", "operator")
READER_USER = "resident:zhao-xiaotong"
REPORT = {"category": "manhole", "title": "井盖松动", "description": "亚龙花园3号楼前井盖翘起", "community": "北翟营"}


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


async def test_a_report_with_a_photo_reaches_staff_and_its_photo_loads_through_the_gateway(deployment):
    base = deployment.gateway.url
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        r = await client.put(
            "/api/notify/recipients/staff:li-yao",
            headers=STAFF,
            json={
                "user_id": "staff:li-yao",
                "display_name": "李瑶",
                "roles": ["staff"],
                "categories": ["*"],
                "on_duty": True,
            },
        )
        assert r.status_code == 200, r.text
        key = {"Idempotency-Key": str(uuid.uuid4())}
        files = [("photo", ("well.jpg", jpeg(), "image/jpeg"))]
        r = await client.post("/api/tickets/tickets", headers=RESIDENT | key, data=REPORT, files=files)
        assert r.status_code == 201, r.text
        opened = r.json()
        # the URL the service built is the gateway's own address, port included
        assert opened["photos"] and all(p.startswith(f"{base}/api/tickets/media/") for p in opened["photos"])
        photo = await client.get(opened["photos"][0])
        assert photo.status_code == 200 and photo.headers["content-type"].startswith("image/")
        assert Image.open(io.BytesIO(photo.content)).size == (64, 48)
        # the phone lost the answer and sends the same report again: the same ticket, filed once
        again = await client.post("/api/tickets/tickets", headers=RESIDENT | key, data=REPORT, files=files)
        assert again.status_code == 201 and again.json()["id"] == opened["id"]
        assert again.headers["idempotency-replayed"] == "true"

        async def staff_messages():
            items = (await client.get("/api/notify/inbox", headers=STAFF)).json()["items"]
            return [m for m in items if m["subject"] == opened["id"]]

        messages = await eventually(staff_messages, timeout=20)
        assert len(messages) == 1 and "井盖松动" in messages[0]["title"]


async def _seed_library(client: httpx.AsyncClient) -> None:
    branches = {"CN-SJZ-YH-ZHC": ("智汇城漂流书屋", "LINLI"), "CN-SJZ-LIB": ("石家庄市图书馆", "CN-SJZ-LIB")}
    for code, (name, institution) in branches.items():
        r = await client.put(
            f"/api/library/branches/{code}",
            headers=OPERATOR,
            json={"name": name, "institution": institution, "floating": False},
        )
        assert r.status_code == 200, r.text
    r = await client.put("/api/library/titles", headers=STAFF, json={"isbn": "9787544253994", "title": "百年孤独"})
    assert r.status_code == 200, r.text
    r = await client.post(
        "/api/library/copies",
        headers=STAFF,
        json={"barcode": "ZHC-4", "isbn": "9787544253994", "home_branch": "CN-SJZ-YH-ZHC"},
    )
    assert r.status_code == 201, r.text


async def _register(client: httpx.AsyncClient, card: str, name: str, user: str) -> str:
    r = await client.post("/api/library/readers", headers=STAFF, json={"id_number": card, "name": name, "user": user})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_a_partner_return_closes_the_loan_and_the_waiting_reader_hears_it_on_the_inbox_stream(deployment):
    base = deployment.gateway.url
    reader_token = token(READER_USER, "resident", name="赵晓彤")
    raw_token = reader_token["Authorization"].removeprefix("Bearer ")
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await _seed_library(client)
        borrower = await _register(client, "130102198507150010", "王建国", "resident:wang-jianguo")
        await _register(client, "11010519491231002X", "赵晓彤", READER_USER)
        r = await client.post(
            "/api/library/checkout",
            headers=STAFF,
            json={"reader_id": borrower, "barcode": "ZHC-4", "branch": "CN-SJZ-YH-ZHC"},
        )
        assert r.status_code == 201, r.text
        # 赵晓彤 waits for the book at the city library's desk
        r = await client.post(
            "/api/library/holds", headers=reader_token, json={"isbn": "9787544253994", "pickup_branch": "CN-SJZ-LIB"}
        )
        assert r.status_code == 201, r.text

        # her app listens on the inbox stream (EventSource: the token in the query)
        heard: asyncio.Queue[dict] = asyncio.Queue()

        async def listen() -> None:
            async with client.stream("GET", f"/api/notify/inbox/stream?access_token={raw_token}", timeout=60) as resp:
                assert resp.status_code == 200
                event = None
                async for line in resp.aiter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and event == "notification":
                        await heard.put(json.loads(line.split(":", 1)[1]))

        listener = asyncio.create_task(listen())
        await asyncio.sleep(1.5)  # the stream's first poll has set its starting point

        # the partner's desk takes the book back and tells us over the signed HTTPS ingress
        r = await client.post("/api/library/partners/CN-SJZ-LIB/keys", headers=OPERATOR)
        assert r.status_code == 201, r.text
        key_id, secret = r.json()["key_id"], r.json()["secret"]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = json.dumps(
            {
                "specversion": "1.0",
                "id": f"sjzlib-{uuid.uuid4().hex[:12]}",
                "source": "/partners/CN-SJZ-LIB",
                "type": "cn.linli.library.BookReturned.v1",
                "time": now,
                "data": {"barcode": "ZHC-4", "branch": "CN-SJZ-LIB", "returned_at": now},
            }
        ).encode()
        ts = str(int(time.time()))
        r = await client.post(
            "/api/library/partners/CN-SJZ-LIB/events",
            content=body,
            headers={
                "Content-Type": "application/cloudevents+json",
                "X-Linli-Key": key_id,
                "X-Linli-Timestamp": ts,
                "X-Linli-Signature": sign(secret, ts, body),
            },
        )
        assert r.status_code == 202, r.text

        async def loans_of(reader: str):
            loans = (await client.get(f"/api/library/readers/{reader}", headers=STAFF)).json()["loans"]
            return not loans

        await eventually(lambda: loans_of(borrower), timeout=20)
        try:
            note = await asyncio.wait_for(heard.get(), timeout=30)
        finally:
            listener.cancel()
        assert "百年孤独" in note["title"] + note["body"]
        inbox = (await client.get("/api/notify/inbox", headers=reader_token)).json()["items"]
        assert [m["id"] for m in inbox] == [note["id"]]

    # the stream's request is in the gateway's access log, its token in no log line anywhere
    logs = deployment.logs()
    assert "/api/notify/inbox/stream" in deployment.gateway.access_log.read_text()
    assert "access_token=[redacted]" in deployment.gateway.access_log.read_text()
    assert raw_token not in logs
    assert raw_token.split(".")[2] not in logs  # not even the signature part


def test_the_gateway_limits_report_creation_per_client_with_a_problem(deployment):
    url = f"{deployment.gateway.url}/api/tickets/tickets"
    answers = []
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=10) as client:
        for _ in range(14):  # anonymous: the service answers 401, the gateway counts them all the same
            answers.append(client.post(url, json=REPORT))
    statuses = [a.status_code for a in answers]
    assert 429 in statuses and statuses[0] == 401, statuses
    limited = answers[statuses.index(429)]
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["code"] == "too_many_requests" and limited.headers["retry-after"]
    # another client is not affected, and reading the list is not a report
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.3"), timeout=10) as other:
        assert other.post(url, json=REPORT).status_code == 401
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=10) as same:
        assert same.get(url, headers=STAFF).status_code == 200
        # filing through Open311 draws on the same client's budget for new reports
        assert same.post(f"{deployment.gateway.url}/open311/v2/requests.json", data={}).status_code == 429


async def test_a_resident_signs_in_through_the_gateway_and_her_token_files_a_report_verified_by_accounts_jwks(
    deployment,
):
    """The whole sign-in of a split deployment: an operator rotates accounts' key (so the token is signed by a key
    only accounts' store and JWKS hold, not the tests' key file), staff register 张晓森, her code arrives over the
    code channel (SMTP here), and tickets, another process, accepts the token by fetching accounts' JWKS URL."""
    base = deployment.gateway.url
    phone = "13912345678"
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.6")  # her own sign-in budget at the gateway
    async with httpx.AsyncClient(base_url=base, timeout=30, transport=transport) as client:
        rotated = await client.post("/api/accounts/keys/rotate", headers=OPERATOR)
        assert rotated.status_code == 201, rotated.text
        kid = rotated.json()["kid"]
        published = await client.get("/.well-known/jwks.json")  # where identity libraries look for it
        assert published.status_code == 200, published.text
        assert kid in [k["kid"] for k in published.json()["keys"]]

        community = {"code": "北翟营", "name": "北翟营社区", "district": "裕华区"}
        r = await client.post("/api/accounts/communities", headers=STAFF, json=community)
        assert r.status_code == 201, r.text
        address = {"community": "北翟营", "estate": "亚龙花园", "building": "3", "unit": "1", "room": "201"}
        home = await client.post("/api/accounts/households", headers=STAFF, json=address)
        assert home.status_code == 201, home.text
        person = await client.post(
            "/api/accounts/people",
            headers=STAFF,
            json={"name": "张晓森", "phone": phone, "household_id": home.json()["id"]},
        )
        assert person.status_code == 201, person.text

        asked = await client.post("/api/accounts/auth/code", json={"phone": phone})
        assert asked.status_code == 202, asked.text
        mailed = await eventually(lambda: deployment.mailbox.to(f"{phone}@{SMS_DOMAIN}"), timeout=20)
        code = re.search(r"\b(\d{6})\b", Mailbox.text(mailed[-1])).group(1)
        signed_in = await client.post("/api/accounts/auth/token", json={"phone": phone, "code": code})
        assert signed_in.status_code == 200, signed_in.text
        access = signed_in.json()["access_token"]
        assert jwt.get_unverified_header(access)["kid"] == kid
        her = {"Authorization": f"Bearer {access}"}

        me = await client.get("/api/accounts/me", headers=her)
        assert me.status_code == 200 and me.json()["sub"] == person.json()["sub"], me.text
        filed = await client.post(
            "/api/tickets/tickets", headers=her | {"Idempotency-Key": str(uuid.uuid4())}, json=REPORT
        )
        assert filed.status_code == 201, filed.text
        mine = (await client.get("/api/tickets/tickets", headers=her)).json()["items"]
        assert [t["id"] for t in mine] == [filed.json()["id"]]

        # the same claims under the same kid, signed by a key accounts never published: refused at every service
        claims = jwt.decode(access, options={"verify_signature": False})
        forged = {"Authorization": f"Bearer {Signer.generate(kid).sign(claims)}"}
        for refused in (
            await client.post("/api/tickets/tickets", headers=forged, json=REPORT),
            await client.get("/api/library/readers/me", headers=forged),
            await client.get("/api/accounts/me", headers=forged),
        ):
            assert refused.status_code == 401, (refused.request.url, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"


def test_sign_in_has_its_own_stricter_budget_per_client(deployment):
    url = f"{deployment.gateway.url}/api/accounts/auth/code"
    # a new phone each time: accounts' own per-phone limit never answers, so a 429 here is the gateway's
    phones = [f"1381234{n:04d}" for n in range(10)]
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.4"), timeout=10) as client:
        answers = [client.post(url, json={"phone": phone}) for phone in phones]
        statuses = [a.status_code for a in answers]
        assert statuses[0] == 202 and 429 in statuses, statuses  # accounts answers until the gateway stops it
        assert set(statuses) == {202, 429}, statuses
        limited = answers[statuses.index(429)]
        assert limited.headers["content-type"] == "application/problem+json"
        assert limited.json()["code"] == "too_many_requests" and limited.headers["retry-after"]
        assert client.get(f"{deployment.gateway.url}/api/accounts/me").status_code == 401  # other routes: not limited
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.5"), timeout=10) as other:
        assert other.post(url, json={"phone": "13812349999"}).status_code == 202


def test_each_service_s_document_and_the_merged_one_are_published(deployment):
    base = deployment.gateway.url
    for service in ("tickets", "library", "volunteers", "notify", "activities"):
        r = httpx.get(f"{base}/api/{service}/openapi.json")
        assert r.status_code == 200, service
        assert any(p.startswith(f"/api/{service}/") for p in r.json()["paths"])
    merged = httpx.get(f"{base}/api/docs/openapi.json")
    assert merged.status_code == 200
    # docs/openapi/linli.json, which tests/foundation checks against what the code builds (`linli docs`)
    assert merged.json() == json.loads((REPO / "docs" / "openapi" / "linli.json").read_text(encoding="utf-8"))
    ui = httpx.get(f"{base}/api/docs", follow_redirects=True)
    assert ui.status_code == 200 and "SwaggerUIBundle" in ui.text and "/api/docs/openapi.json" in ui.text


async def test_a_child_s_place_is_shown_as_a_qr_and_a_stale_room_edit_refused_through_the_gateway(deployment):
    """activities behind the gateway: the sign-up's QR image decodes to the code that opens the door, and the
    room's strong ETag passes the gateway untouched (no compression weakens it), so If-Match works through it."""
    import zxingcpp

    zhc_staff = token("staff:li-yao", "staff", name="李瑶", community="智汇城")
    mother = token("resident:zhao-xiaotong", "resident", household="H-ZHC-1-101", community="智汇城")
    async with httpx.AsyncClient(base_url=deployment.gateway.url, timeout=30) as client:
        body = {"community": "智汇城", "name": "儿童活动室", "capacity": 20, "location": "4楼 401"}
        r = await client.post("/api/activities/venues", headers=zhc_staff, json=body)
        assert r.status_code == 201, r.text
        venue = f"/api/activities/venues/{r.json()['id']}"
        seen = await client.get(venue, headers=zhc_staff | {"Accept-Encoding": "gzip"})
        tag = seen.headers["etag"]
        assert tag.startswith('"')
        r = await client.patch(venue, headers=zhc_staff | {"If-Match": tag}, json={"capacity": 24})
        assert r.status_code == 200, r.text
        r = await client.patch(venue, headers=zhc_staff | {"If-Match": tag}, json={"capacity": 30})
        assert r.status_code == 412 and r.json()["code"] == "precondition_failed"

        starts = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat()
        activity = {"venue_id": venue.rsplit("/", 1)[1], "title": "剪纸", "starts_at": starts, "minutes": 90}
        r = await client.post("/api/activities/activities", headers=zhc_staff, json=activity | {"capacity": 5})
        assert r.status_code == 201, r.text
        (session,) = r.json()["sessions"]
        r = await client.post(
            f"/api/activities/activities/{session['id']}/signups",
            headers=mother,
            json={"participant": "小雨", "age": 8, "guardian": True},
        )
        assert r.status_code == 201 and r.json()["status"] == "confirmed", r.text
        qr = await client.get(f"/api/activities/signups/{r.json()['id']}/qr", headers=mother)
        assert qr.status_code == 200 and qr.headers["content-type"] == "image/png"
        (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.content)))
        assert found.text == r.json()["checkin_code"]
        door = await client.post("/api/activities/checkin", headers=zhc_staff, json={"code": found.text})
        assert door.status_code == 200 and door.json()["attended"] is True


def test_the_gateway_answers_its_own_errors_as_problems(deployment):
    base = deployment.gateway.url
    r = httpx.get(f"{base}/nowhere")
    assert (r.status_code, r.headers["content-type"]) == (404, "application/problem+json")
    r = httpx.get(f"{base}/api/tickets/tickets?access_token=abc.def.ghi")
    assert r.status_code == 400 and r.json()["code"] == "token_in_query"
    big = httpx.post(f"{base}/api/library/titles", content=b"x" * (2 * 1024 * 1024), headers=STAFF)
    assert big.status_code == 413 and big.json()["code"] == "too_large"
    app = httpx.get(f"{base}/", follow_redirects=True)
    assert app.status_code == 200 and "邻里" in app.text
    # however the token is spelled in the stream's query, the log keeps none of it
    for query in (
        "a=1&access_token=tok1.x.y&access_token=tok2.x.y",
        "access%5Ftoken=tok3.x.y",
        "ACCESS_TOKEN=tok4.x.y",
    ):
        assert httpx.get(f"{base}/api/notify/inbox/stream?{query}").status_code == 401
    logs = deployment.logs()
    assert not [leak for leak in ("abc.def.ghi", "tok1", "tok2", "tok3", "tok4") if leak in logs]


def test_a_service_that_is_down_answers_503_as_a_problem_until_it_is_back(deployment):
    """volunteers' process is stopped (as a crashed container would be) and started again on the same port."""
    url = f"{deployment.gateway.url}/api/volunteers/elders"
    assert httpx.get(url, headers=STAFF).status_code == 200
    volunteers = deployment.services["volunteers"]
    volunteers.stop()
    try:
        r = httpx.get(url, headers=STAFF)
        assert (r.status_code, r.headers["content-type"]) == (503, "application/problem+json")
        assert r.json()["code"] == "unavailable" and r.headers["retry-after"]
        assert httpx.get(f"{deployment.gateway.url}/api/library/branches", headers=STAFF).status_code == 200
    finally:
        volunteers.start()
        volunteers.wait_ready()
    assert httpx.get(url, headers=STAFF).status_code == 200


def test_a_browser_app_on_an_allowed_origin_passes_preflight_through_the_gateway(deployment):
    url = f"{deployment.gateway.url}/api/tickets/tickets"
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,idempotency-key"}
    r = httpx.options(url, headers={"Origin": APP_ORIGIN, **ask})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "idempotency-key" in r.headers["access-control-allow-headers"].lower()
    refused = httpx.options(url, headers={"Origin": "https://evil.example", **ask})
    assert refused.status_code == 403 and refused.json()["code"] == "cors_refused"
    assert "access-control-allow-origin" not in refused.headers


def test_the_documented_tls_server_redirects_plain_http_and_builds_https_urls(deployment, tmp_path):
    from tests.gateway.nginx import Gateway

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    upstreams = {name: p.port for name, p in deployment.services.items()}
    tls = Gateway(tmp_path / "nginx", upstreams, tls=(cert, key))
    tls.prefix.mkdir()
    tls.start()
    try:
        plain = httpx.get(f"http://127.0.0.1:{tls.redirect_port}/api/tickets/categories")
        assert plain.status_code == 308 and plain.headers["location"].startswith("https://127.0.0.1/api/tickets/")
        base = f"https://127.0.0.1:{tls.tls_port}"
        with httpx.Client(base_url=base, verify=ssl.create_default_context(cafile=str(cert)), timeout=30) as client:
            files = [("photo", ("well.jpg", jpeg(), "image/jpeg"))]
            r = client.post("/api/tickets/tickets", headers=RESIDENT, data=REPORT, files=files)
            assert r.status_code == 201, r.text
            assert r.headers["strict-transport-security"].startswith("max-age=63072000")
            # the service was told the scheme: the photo's URL is the HTTPS address it was filed through
            assert r.json()["photos"][0].startswith(f"{base}/api/tickets/media/")
            assert client.get(r.json()["photos"][0]).status_code == 200
    finally:
        tls.stop()
