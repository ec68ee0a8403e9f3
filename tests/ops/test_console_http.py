"""The console over HTTP (no browser): roles, login cookie, pages, redrive/discard, metrics, /asyncapi."""

from __future__ import annotations

from shared.web.auth import mint_token
from tests.conftest import eventually, token
from tests.ops.flows import consumer_outage, dead_letter_count, open_ticket, staff_inbox_titles, staff_on_duty

OPERATOR = token("operator:ops", "operator")
HTML = {"Accept": "text/html"}


async def test_console_requires_an_operator(start_runtime):
    async with start_runtime(["tickets", "notify"]) as (_runtime, client):
        r = await client.get("/console", headers=HTML)
        assert r.status_code == 303 and r.headers["location"] == "/console/login"
        r = await client.get("/console/groups/board")
        assert r.status_code == 401
        for roles in (("staff",), ("resident",), ("volunteer", "team_leader")):
            r = await client.get("/console/dlq", headers=token("someone", *roles))
            assert r.status_code == 403, roles
        r = await client.get("/console/dlq", headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401
        r = await client.get("/console/dlq", headers=OPERATOR)
        assert r.status_code == 200 and "没有死信" in r.text

        # ?access_token= moves into an HttpOnly cookie and out of the URL
        op = mint_token("operator:ops", ["operator"])
        r = await client.get(f"/console/groups?access_token={op}", headers=HTML)
        assert r.status_code == 303 and r.headers["location"] == "/console/groups"
        assert "HttpOnly" in r.headers["set-cookie"] and "SameSite=Strict" in r.headers["set-cookie"]

        r = await client.post("/console/login", data={"token": mint_token("staff:li", ["staff"])})
        assert r.status_code == 403 and "operator" in r.text
        r = await client.post("/console/login", data={"token": "garbage"})
        assert r.status_code == 401
        r = await client.post("/console/login", data={"token": op})
        assert r.status_code == 303 and r.headers["location"] == "/console"
        r = await client.get("/console/groups", headers=HTML)  # the cookie is enough now
        assert r.status_code == 200 and "消费组" in r.text
        r = await client.post("/console/logout")
        assert r.status_code == 303
        client.cookies.clear()
        r = await client.get("/console/groups", headers=HTML)
        assert r.status_code == 303

        r = await client.get("/console/login")
        assert r.status_code == 200 and "token" in r.text
        r = await client.get("/console/static/htmx.min.js")
        assert r.status_code == 200 and "htmx" in r.text[:200]
        assert (await client.get("/console/static/..%2Fauth.py")).status_code == 404


async def test_pages_show_events_groups_dead_letters_and_traces(start_runtime):
    async with start_runtime(["tickets", "notify"], max_deliveries=2) as (runtime, client):
        await staff_on_duty(client)
        first = await open_ticket(client, "井盖松动")
        await eventually(lambda: _has(staff_inbox_titles(client), "井盖松动"))

        r = await client.get("/console", headers=OPERATOR)
        assert r.status_code == 200 and first in r.text and "TicketOpened" in r.text
        phoned = await open_ticket(client, "请回电13812345678")
        entry = await eventually(lambda: _entry_of(client, phoned))
        r = await client.get(f"/console/events/{entry}", headers=OPERATOR)
        assert r.status_code == 200 and "请回电138****5678" in r.text and "13812345678" not in r.text
        assert (await client.get(f"/console/events/{entry}", headers=token("staff:li", "staff"))).status_code == 403
        r = await client.get("/console?type=TicketClosed", headers=OPERATOR)
        assert first not in r.text
        assert first in (await client.get("/console?since=1h&type=TicketOpened", headers=OPERATOR)).text
        assert first not in (await client.get("/console?until=1d", headers=OPERATOR)).text
        assert (await client.get("/console?since=yesterday-ish", headers=OPERATOR)).status_code == 422

        r = await client.get("/console/groups", headers=OPERATOR)
        assert r.status_code == 200 and "<svg" in r.text and "notify" in r.text
        r = await client.get("/console/health", headers=OPERATOR)
        assert "notify.groups" in r.text and "就绪 ready" in r.text

        with consumer_outage(runtime.contexts["notify"]):
            lost = await open_ticket(client, "路灯不亮")
            gone = await open_ticket(client, "演练")
            later = [await open_ticket(client, f"楼道灯 {n}") for n in (1, 2)]
            await eventually(lambda: _eq(dead_letter_count(runtime.redis, runtime.names), 4), timeout=15)

        r = await client.get("/console/groups", headers=OPERATOR)  # a sample updates the gauges
        r = await client.get("/metrics")
        assert 'linli_dead_letters_current{group="notify"} 4.0' in r.text

        r = await client.get("/console/dlq?group=notify", headers=OPERATOR)
        assert lost in r.text and gone in r.text and "handler_failed" in r.text
        from ops.dlq import list_dead

        dead = {d.entry.subject: d.id for d in await list_dead(runtime.redis, runtime.names)}
        r = await client.post(
            f"/console/dlq/{dead[gone]}/discard", headers={**OPERATOR, "HX-Request": "true"}, data={"reason": ""}
        )
        assert r.status_code == 422
        r = await client.post(f"/console/dlq/{dead[lost]}/redrive", headers={**OPERATOR, "HX-Request": "true"})
        assert r.status_code == 200 and "redriven" in r.text
        await eventually(lambda: _has(staff_inbox_titles(client), "路灯不亮"))
        r = await client.post(f"/console/dlq/{dead[gone]}/discard", headers=OPERATOR, data={"reason": "演练 drill"})
        assert r.status_code == 303
        r = await client.get("/console/dlq", headers=OPERATOR)
        assert "演练 drill" in r.text and "operator:ops" in r.text and all(t in r.text for t in later)
        r = await client.post(
            "/console/dlq/redrive", headers=OPERATOR, data={"group": "notify", "type": "TicketOpened"}
        )
        assert r.status_code == 303
        for title in ("楼道灯 1", "楼道灯 2"):
            await eventually(lambda t=title: _has(staff_inbox_titles(client), t))
        r = await client.get("/console/dlq", headers=OPERATOR)
        assert "没有死信" in r.text
        r = await client.post(f"/console/dlq/{dead[gone]}/redrive", headers=OPERATOR)
        assert r.status_code == 404

        events = (await client.get(f"/console?subject={first}", headers=OPERATOR)).text
        corr_start = events.index("/console/trace?id=") + len("/console/trace?id=")
        corr = events[corr_start : events.index('"', corr_start)]
        r = await client.get(f"/console/trace?id={corr}", headers=OPERATOR)
        assert r.status_code == 200 and "TicketOpened" in r.text and first in r.text
        r = await client.get("/console/trace?id=nothing", headers=OPERATOR)
        assert "no events with correlation id" in r.text

        r = await client.get("/asyncapi")
        assert r.status_code == 200 and r.json()["asyncapi"].startswith("3.")


async def _entry_of(client, subject):
    """The event page link of the newest event about ``subject``, as the log shows it."""
    page = (await client.get(f"/console?subject={subject}", headers=OPERATOR)).text
    marker = '<a class="detail" href="/console/events/'
    return page[page.index(marker) + len(marker) :].split('"', 1)[0] if marker in page else None


async def _has(coro, text):
    return any(text in t for t in await coro)


async def _eq(coro, n):
    return (await coro) == n


async def test_malformed_ids_name_nothing_and_never_fail(start_runtime):
    """Ids Redis would refuse (not ``<ms>-<seq>``, or beyond 64 bits) and keys that are not Linli's streams."""
    async with start_runtime(["notify"]) as (runtime, client):
        for bad in ("abc", "1-2-3", "99999999999999999999999-0"):
            r = await client.post(f"/console/dlq/{bad}/redrive", headers=OPERATOR)
            assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), bad
            assert bad not in r.text
            r = await client.post(f"/console/dlq/{bad}/discard", headers=OPERATOR, data={"reason": "x"})
            assert r.status_code == 422, bad
        r = await client.post("/console/dlq/18446744073709551616-0/redrive", headers=OPERATOR)  # 2**64
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        await runtime.redis.set(f"{runtime.names.prefix}:plain-key", "x")
        for ref in ("99999999999999999999999-0", f"{runtime.names.prefix}:plain-key/1-0", "no-such-stream/1-0"):
            r = await client.get(f"/console/events/{ref}", headers=OPERATOR)
            assert r.status_code == 404, ref
