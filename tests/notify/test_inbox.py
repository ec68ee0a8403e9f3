"""The in-app inbox: list, unread count, mark read, archive, and the live stream (server-sent events)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
import uvicorn

from shared.events.library import HoldReady
from shared.web.auth import mint_token
from tests.conftest import eventually, token
from tests.notify.conftest import handled, publish
from tests.support.redis_server import free_port

RESIDENT = token("resident:zhang-xiaosen", "resident", name="张晓森")
NEIGHBOUR = token("resident:zhao-xiaotong", "resident", name="赵晓彤")


def hold(n: int, reader: str = "resident:zhang-xiaosen") -> HoldReady:
    return HoldReady(
        hold_id=f"H{n}",
        reader_id="R1",
        isbn="9787020",
        title=f"书{n}",
        pickup_branch="明珠花苑书屋",
        expires_at="2026-12-03T10:00:00Z",
        reader_user=reader,
    )


async def test_list_count_read_and_archive(start_runtime, clock):
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        for n in (1, 2, 3):
            await publish(runtime, hold(n))
        await handled(runtime, 3)
        inbox = (await client.get("/api/notify/inbox", headers=RESIDENT)).json()["items"]
        assert [m["title"] for m in inbox] == ["预约的书到了：书3", "预约的书到了：书2", "预约的书到了：书1"]
        assert inbox[0]["created_at"].endswith("+08:00") and "2026-12-03 18:00" in inbox[0]["body"]
        assert (await client.get("/api/notify/inbox/unread-count", headers=RESIDENT)).json() == {"unread": 3}

        first, second = inbox[2]["id"], inbox[1]["id"]
        r = await client.post(f"/api/notify/inbox/{first}/read", headers=RESIDENT)
        assert r.status_code == 200 and r.json()["read_at"] is not None
        assert (await client.get("/api/notify/inbox/unread-count", headers=RESIDENT)).json() == {"unread": 2}
        unread = (await client.get("/api/notify/inbox", headers=RESIDENT, params={"unread": True})).json()["items"]
        assert [m["title"] for m in unread] == ["预约的书到了：书3", "预约的书到了：书2"]

        r = await client.post(f"/api/notify/inbox/{second}/archive", headers=RESIDENT)
        assert r.status_code == 200
        assert len((await client.get("/api/notify/inbox", headers=RESIDENT)).json()["items"]) == 2
        archived = (await client.get("/api/notify/inbox", headers=RESIDENT, params={"archived": True})).json()["items"]
        assert [m["title"] for m in archived] == ["预约的书到了：书2"]
        assert (await client.get("/api/notify/inbox/unread-count", headers=RESIDENT)).json() == {"unread": 1}
        assert (await client.post("/api/notify/inbox/read-all", headers=RESIDENT)).json() == {"marked": 1}

        # a neighbour sees none of it and cannot touch it
        assert (await client.get("/api/notify/inbox", headers=NEIGHBOUR)).json()["items"] == []
        r = await client.post(f"/api/notify/inbox/{first}/archive", headers=NEIGHBOUR)
        assert r.status_code == 404 and "消息不存在" in r.json()["detail"]
        assert (await client.get("/api/notify/inbox")).status_code == 401


async def test_live_stream_shows_a_new_message_at_once(start_runtime, clock):
    async with start_runtime(["notify"], clock=clock) as (runtime, _client):
        runtime.contexts["notify"].state["stream_poll"] = 0.1
        await publish(runtime, hold(1))
        await handled(runtime, 1)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(runtime.build_app(), host="127.0.0.1", port=port, lifespan="off", log_level="warning")
        )
        serving = asyncio.create_task(server.serve())
        await eventually(lambda: server.started)
        seen: list[dict] = []
        try:
            access = mint_token("resident:zhang-xiaosen", ["resident"])
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                assert (await http.get("/api/notify/inbox/stream")).status_code == 401
                async with http.stream("GET", "/api/notify/inbox/stream", params={"access_token": access}) as resp:
                    assert resp.status_code == 200
                    assert resp.headers["content-type"].startswith("text/event-stream")
                    await publish(runtime, hold(2))
                    await publish(runtime, hold(3, reader="resident:zhao-xiaotong"))  # someone else's
                    await publish(runtime, hold(4))

                    async def read() -> None:
                        async for line in resp.aiter_lines():
                            if line.startswith("data:"):
                                seen.append(json.loads(line[5:]))
                                if len(seen) == 2:
                                    return

                    await asyncio.wait_for(read(), timeout=10)
                # a reconnecting app resumes after the last id it saw
                headers = {"Last-Event-ID": str(seen[0]["id"])}
                async with http.stream(
                    "GET", "/api/notify/inbox/stream", params={"access_token": access}, headers=headers
                ) as resp:
                    async for line in resp.aiter_lines():
                        if line.startswith("data:"):
                            assert json.loads(line[5:])["title"] == "预约的书到了：书4"
                            break
        finally:
            server.should_exit = True
            await serving
        # only what arrived after connecting, only the caller's, in order
        assert [m["title"] for m in seen] == ["预约的书到了：书2", "预约的书到了：书4"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_pages_of_the_inbox_hold_every_message_once(start_runtime, clock, backend, pg_database, monkeypatch):
    """The first page (read through the driver on SQLite) and the pages after it (a cursor) show each message once,
    newest first, with the same fields, on either store."""
    if backend == "postgresql":
        monkeypatch.setenv("NOTIFY_DATABASE_URL", pg_database("notify"))
    async with start_runtime(["notify"], clock=clock) as (runtime, client):
        for n in range(1, 6):
            await publish(runtime, hold(n))
            clock.advance(timedelta(minutes=1))
        await publish(runtime, hold(9, reader="resident:zhao-xiaotong"))
        await handled(runtime, 6)
        whole = (await client.get("/api/notify/inbox", headers=RESIDENT)).json()
        assert [m["title"] for m in whole["items"]] == [f"预约的书到了：书{n}" for n in (5, 4, 3, 2, 1)]
        assert whole["next_cursor"] is None
        first = whole["items"][0]
        assert set(first) == {
            *("id", "event_type", "subject", "title", "body", "category", "critical"),
            *("created_at", "read_at", "archived_at"),
        }
        assert first["event_type"] == "cn.linli.library.HoldReady.v1" and first["category"] == "library"
        assert first["critical"] is False and first["read_at"] is None and first["archived_at"] is None
        assert first["created_at"].endswith("+08:00")

        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/notify/inbox", headers=RESIDENT, params=params)).json()
            seen += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        assert seen == whole["items"]

        await client.post(f"/api/notify/inbox/{whole['items'][1]['id']}/read", headers=RESIDENT)
        unread = (await client.get("/api/notify/inbox", headers=RESIDENT, params={"unread": True, "limit": 3})).json()
        assert [m["title"] for m in unread["items"]] == [f"预约的书到了：书{n}" for n in (5, 3, 2)]
        rest = await client.get(
            "/api/notify/inbox", headers=RESIDENT, params={"unread": True, "cursor": unread["next_cursor"]}
        )
        assert [m["title"] for m in rest.json()["items"]] == ["预约的书到了：书1"]
