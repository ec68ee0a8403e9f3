"""The channel target policy: notify calls only the channel targets it may (no SSRF through preferences).

A resident's ``json://127.0.0.1:<port>`` is refused (422 ``channel_target_refused``, the address not echoed)
and the real receiver on that port hears nothing; so is every other form of a loopback, private, link-local or
unspecified address, ``localhost``, a numeric IP, userinfo tricks and unknown schemes. A host the site allows
(``NOTIFY_ALLOWED_WEBHOOK_HOSTS``) still gets its messages; a bad target already in the store is not called.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis.asyncio as aredis
from sqlmodel import select

from services.notify.adapters.orm import Delivery, Recipient
from shared.events.library import LoanOverdue
from tests.conftest import eventually, token
from tests.notify.conftest import handled, publish, tick

RESIDENT = token("resident:zhang-xiaosen", "resident", name="张晓森")
STAFF = token("staff:li-yao", "staff", name="李瑶")
OPERATOR = token("operator:ops", "operator", name="运维")
SETTING = "NOTIFY_ALLOWED_WEBHOOK_HOSTS"


def loan(n: int = 1, reader: str = "resident:zhang-xiaosen") -> LoanOverdue:
    return LoanOverdue(
        barcode=f"B{n}",
        title="平凡的世界",
        loan_id=f"L{n}",
        reader_id="R1",
        due_at="2026-11-28T15:00:00Z",
        days_overdue=2,
        reader_user=reader,
    )


def assert_refused(r, *secrets: str) -> None:
    """422 problem+json with the stable code, and nothing of the address in the answer."""
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == "channel_target_refused" and problem["status"] == 422
    for secret in secrets:
        assert secret not in r.text, (secret, r.text)


async def stored_channels(client, headers=RESIDENT) -> list[dict]:
    return (await client.get("/api/notify/preferences", headers=headers)).json()["channels"]


async def test_a_residents_loopback_webhook_is_refused_and_never_called(start_runtime, clock, receiver, monkeypatch):
    monkeypatch.delenv(SETTING, raising=False)  # the default policy: nothing allowed on top
    port = str(receiver.server.server_port)
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        r = await client.put(
            "/api/notify/preferences", headers=RESIDENT, json={"channels": [{"url": receiver.url("/steal")}]}
        )
        assert_refused(r, receiver.url("/steal"), "127.0.0.1", port, "/steal")
        assert await stored_channels(client) == []
        # an event that notifies them: the inbox has it, the receiver on 127.0.0.1 hears nothing
        await publish(runtime, loan())
        await handled(runtime, 1)
        await tick(runtime)
        assert receiver.posts == []
        inbox = (await client.get("/api/notify/inbox", headers=RESIDENT)).json()["items"]
        assert [m["title"] for m in inbox] == ["图书已逾期：平凡的世界"]
        feed = (await client.get("/api/notify/deliveries", headers=STAFF)).json()["items"]
        assert feed == []


REFUSED_BY_DEFAULT = {
    # private, shared, link-local (cloud metadata) and unspecified IPv4
    "private_10": "json://10.0.0.5/hook",
    "private_192": "json://192.168.1.10:8080/hook",
    "private_172": "json://172.16.0.1/hook",
    "cgnat": "json://100.64.0.1/hook",
    "link_local_metadata": "json://169.254.169.254/latest/meta-data",
    "unspecified": "json://0.0.0.0:{port}/hook",
    # IPv6: loopback, IPv4-mapped loopback, link-local, unique-local, unspecified
    "ipv6_loopback": "json://[::1]:{port}/hook",
    "ipv6_mapped_loopback": "json://[::ffff:127.0.0.1]:{port}/hook",
    "ipv6_link_local": "json://[fe80::1]/hook",
    "ipv6_unique_local": "json://[fd00::1]/hook",
    "ipv6_unspecified": "json://[::]:{port}/hook",
    # numeric forms a resolver turns into 127.0.0.1
    "numeric_decimal": "json://2130706433:{port}/hook",
    "numeric_hex": "json://0x7f000001:{port}/hook",
    "numeric_octal": "json://0177.0.0.1:{port}/hook",
    "numeric_short": "json://127.1:{port}/hook",
    # localhost and internal names
    "localhost": "json://localhost:{port}/hook",
    "localhost_upper_dot": "json://LOCALHOST.:{port}/hook",
    "localhost_subdomain": "json://hooks.localhost:{port}/hook",
    "single_label_name": "json://redis:6379/hook",
    "internal_name": "json://db.internal/hook",
    # email through a loopback or private SMTP server
    "smtp_loopback": "mailto://127.0.0.1:{port}?from=a@linli.test&to=b@example.com&mode=insecure",
    "smtp_localhost": "mailto://localhost?to=b@example.com",
    "smtp_param_private": "mailto://smtp.example.com?smtp=10.0.0.9&to=b@example.com",
    # unknown or local schemes
    "http": "http://127.0.0.1:{port}/hook",
    "https_any_host": "https://127.0.0.1:{port}/hook",
    "gopher": "gopher://example.com/x",
    "file": "file://example.com/etc/passwd",
    "syslog": "syslog://example.com",
    "apprise_api": "apprise://example.com/notify",
    # a generic webhook is for operators: a resident may not point the service at any public host
    "public_webhook_by_resident": "json://hooks.example.com/hook",
    # a provider's host is only that host
    "lookalike_provider_host": "https://qyapi.weixin.qq.com.example.com/cgi-bin/webhook/send?key=k",
}


@pytest.mark.parametrize("form", REFUSED_BY_DEFAULT, ids=list(REFUSED_BY_DEFAULT))
async def test_each_refused_form_answers_422(start_runtime, receiver, monkeypatch, form):
    monkeypatch.delenv(SETTING, raising=False)
    url = REFUSED_BY_DEFAULT[form].format(port=receiver.server.server_port)
    async with start_runtime(["notify"]) as (_runtime, client):
        r = await client.put("/api/notify/preferences", headers=RESIDENT, json={"channels": [{"url": url}]})
        assert_refused(r, url)
        assert await stored_channels(client) == []


USERINFO_AND_QUERY_TRICKS = {
    "userinfo_credentials": "json://user:pw@127.0.0.1:{port}/hook",
    "userinfo_lookalike_host": "json://hooks.example.com@127.0.0.1:{port}/hook",
    # Apprise reads the host after the first "@", urllib after the last: the two disagree
    "double_at": "json://x@127.0.0.1:{port}@hooks.example.com/hook",
    "backslash_at": "json://hooks.example.com\\@127.0.0.1:{port}/hook",
    "fragment_at": "json://hooks.example.com:{port}#@127.0.0.1/hook",
    "at_in_path": "json://127.0.0.1:{port}/x@10.0.0.5/hook",
    "percent_encoded_host": "json://127.0.0.%31:{port}/hook",
    "follow_redirects": "json://127.0.0.1:{port}/hook?redirect=yes",
    "long_read_timeout": "json://127.0.0.1:{port}/hook?rto=3600",
}


@pytest.mark.parametrize("form", USERINFO_AND_QUERY_TRICKS, ids=list(USERINFO_AND_QUERY_TRICKS))
async def test_userinfo_and_query_tricks_are_refused_even_on_an_allowed_host(
    start_runtime, receiver, monkeypatch, form
):
    monkeypatch.setenv(SETTING, "127.0.0.1")  # the host itself is allowed: only the trick is at fault
    url = USERINFO_AND_QUERY_TRICKS[form].format(port=receiver.server.server_port)
    async with start_runtime(["notify"]) as (_runtime, client):
        r = await client.put("/api/notify/preferences", headers=RESIDENT, json={"channels": [{"url": url}]})
        assert_refused(r, url)
        assert await stored_channels(client) == []


async def test_staff_and_operators_are_held_to_the_policy_on_recipients(start_runtime, monkeypatch):
    monkeypatch.delenv(SETTING, raising=False)
    async with start_runtime(["notify"]) as (runtime, client):

        async def put(headers, url: str):
            return await client.put(
                "/api/notify/recipients/staff:zhao-gang",
                headers=headers,
                json={"display_name": "赵刚", "roles": ["staff"], "channels": [{"url": url}]},
            )

        assert_refused(await put(STAFF, "json://127.0.0.1:9/hook"), "127.0.0.1")
        assert_refused(await put(STAFF, "json://hooks.example.com/hook"), "hooks.example.com")  # operators only
        assert_refused(await put(OPERATOR, "json://10.0.0.5/hook"), "10.0.0.5")  # not even an operator
        assert_refused(await put(OPERATOR, "json://[::1]:9/hook"), "::1")
        # what an operator may configure: a webhook on a public host, marked as theirs in the store
        r = await put(OPERATOR, "jsons://hooks.example.com/linli")
        assert r.status_code == 200, r.text
        assert [c["name"] for c in r.json()["channels"]] == ["webhook"]
        with runtime.contexts["notify"].store.transaction(readonly=True) as session:
            [channel] = session.get(Recipient, "staff:zhao-gang").channels
        assert channel == {"name": "webhook", "url": "jsons://hooks.example.com/linli", "by": "operator"}
        # what staff may register for a colleague: bots and email on their providers' public hosts
        r = await put(STAFF, "wecombot://0123456789abcdef")
        assert r.status_code == 200, r.text
        r = await put(STAFF, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123456789abcdef")
        assert r.status_code == 200 and r.json()["channels"][0]["name"] == "wecombot", r.text


async def test_a_host_allowed_through_the_setting_still_gets_its_messages(start_runtime, clock, receiver, monkeypatch):
    monkeypatch.setenv(SETTING, "127.0.0.1")
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        # the allowance is for that host exactly: localhost (the same machine) stays refused
        other = f"json://localhost:{receiver.server.server_port}/hook"
        r = await client.put("/api/notify/preferences", headers=RESIDENT, json={"channels": [{"url": other}]})
        assert_refused(r, other)
        r = await client.put(
            "/api/notify/preferences", headers=RESIDENT, json={"channels": [{"url": receiver.url("/mine")}]}
        )
        assert r.status_code == 200, r.text
        await publish(runtime, loan())
        await handled(runtime, 1)
        await tick(runtime)
        [post] = receiver.posts
        assert post["path"] == "/mine" and post["title"] == "图书已逾期：平凡的世界"
        [delivery] = (await client.get("/api/notify/deliveries", headers=STAFF)).json()["items"]
        assert (delivery["channel"], delivery["status"], delivery["attempts"]) == ("webhook", "sent", 1)


async def notify_events(runtime) -> list[dict]:
    client = aredis.Redis.from_url(runtime.settings.redis_url)
    try:
        return [json.loads(f[b"cloudevent"]) for _, f in await client.xrange(runtime.names.events("notify"))]
    finally:
        await client.aclose()


async def test_a_bad_target_already_in_the_store_is_not_called(start_runtime, clock, receiver, monkeypatch):
    monkeypatch.delenv(SETTING, raising=False)
    port = receiver.server.server_port
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["notify"]
        with ctx.store.transaction() as session:  # written before the policy existed, or by hand
            session.add(
                Recipient(
                    user_id="resident:zhang-xiaosen",
                    display_name="张晓森",
                    channels=[{"name": "webhook", "url": receiver.url("/old")}],
                    muted={},
                )
            )
            session.add(  # even one marked as an operator's: loopback is loopback
                Recipient(
                    user_id="resident:zhao-xiaotong",
                    display_name="赵晓彤",
                    channels=[{"name": "webhook", "url": f"json://localhost:{port}/op", "by": "operator"}],
                    muted={},
                )
            )
        event = await publish(runtime, loan(1))
        await publish(runtime, loan(2, reader="resident:zhao-xiaotong"))
        await handled(runtime, 2)
        await tick(runtime)
        await tick(runtime)
        assert receiver.posts == []
        feed = (await client.get("/api/notify/deliveries", headers=STAFF)).json()["items"]
        assert len(feed) == 2
        for delivery in feed:  # failed at once (a refusal does not change on retry), with the reason recorded
            assert (delivery["status"], delivery["attempts"]) == ("failed", 1), delivery
            assert "refused" in delivery["last_error"] and str(port) not in delivery["last_error"]
            assert [a["outcome"] for a in delivery["log"]] == ["failed"]
        failed = await eventually(lambda: _failed(runtime, event.id))
        assert failed["data"]["recipient"] == "resident:zhang-xiaosen" and "refused" in failed["data"]["error"]
        with ctx.store.transaction(readonly=True) as session:
            assert {d.status for d in session.exec(select(Delivery)).all()} == {"failed"}


async def _failed(runtime, cause_id: str) -> dict | None:
    return next(
        (
            e
            for e in await notify_events(runtime)
            if e["type"] == "cn.linli.notify.NotificationFailed.v1" and e["causationid"] == cause_id
        ),
        None,
    )


class Redirector:
    """A real HTTP server that answers every POST with a 307 to ``location`` (and records that it was asked)."""

    def __init__(self, location: str) -> None:
        self.hits = 0
        redirector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                redirector.hits += 1
                self.send_response(307)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


async def test_a_webhook_cannot_redirect_the_request_elsewhere(start_runtime, clock, receiver, monkeypatch):
    """The allowed webhook answers 307 to another address: notify does not follow it."""
    monkeypatch.setenv(SETTING, "127.0.0.1")
    redirector = Redirector(f"http://127.0.0.1:{receiver.server.server_port}/internal")
    redirector.thread.start()
    try:
        async with start_runtime(["notify"], clock=clock) as (runtime, client):
            url = f"json://127.0.0.1:{redirector.server.server_port}/hook"
            r = await client.put("/api/notify/preferences", headers=RESIDENT, json={"channels": [{"url": url}]})
            assert r.status_code == 200, r.text
            await publish(runtime, loan())
            await handled(runtime, 1)
            await tick(runtime)
            assert redirector.hits == 1
            assert receiver.posts == []
    finally:
        redirector.server.shutdown()
        redirector.server.server_close()


def test_the_sender_refuses_a_public_name_that_resolves_to_a_private_address():
    """At send time every network host is resolved; a DNS name pointing inside is refused, nothing sent."""
    from services.notify.adapters import sender
    from services.notify.domain.targets import TargetPolicy

    asked: list[str] = []

    def resolver(host: str) -> list[str]:
        asked.append(host)
        return ["93.184.215.14", "127.0.0.1"]

    result = sender.send(
        "json://hooks.example.com/hook", "t", "b", targets=TargetPolicy(), audience="operator", resolver=resolver
    )
    assert asked == ["hooks.example.com"]
    assert not result.ok and result.permanent and "private_address" in result.response


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("[::1]", "::1"),
        ("example.com", None),
        ("1e100.net", None),
    ],
)
def test_numeric_host_forms_are_read_as_the_addresses_a_resolver_would_use(host, address):
    from services.notify.domain.targets import ip_of

    found = ip_of(host)
    assert (str(found) if found is not None else None) == address
