"""The thin flow across real processes: all services in one, and tickets and notify apart with a crash."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
import redis

from host.redis_boot import reachable
from tests.conftest import eventually, token
from tests.support.processes import LinliProcess

STAFF = token("staff:li-yao", "staff")
RESIDENT = token("resident:zhang-xiaosen", "resident")
DUTY = {"user_id": "staff:li-yao", "display_name": "李瑶", "roles": ["staff"], "categories": ["*"], "on_duty": True}


@pytest.fixture
def process_env(redis_url, prefix, tmp_path) -> dict[str, str]:
    return {
        "REDIS_URL": redis_url,
        "LINLI_STREAM_PREFIX": prefix,
        "LINLI_VAR_DIR": str(tmp_path / "var"),
        "LINLI_CLAIM_IDLE_MS": "1000",
        "LINLI_RETRY_BASE_MS": "200",
        "LINLI_LOG_LEVEL": "WARNING",
    }


def report(n: int) -> dict:
    return {
        "category": "manhole",
        "title": f"井盖松动 {n}",
        "description": "亚龙花园楼下井盖翘起",
        "community": "北翟营",
    }


async def staff_inbox(base: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=base) as client:
        return (await client.get("/api/notify/inbox", headers=STAFF, params={"limit": 200})).json()["items"]


async def test_all_services_in_one_process(process_env, tmp_path):
    linli = LinliProcess([], process_env, tmp_path / "all.log")
    linli.start()
    try:
        async with httpx.AsyncClient(base_url=linli.url) as client:
            assert (
                await client.put("/api/notify/recipients/staff:li-yao", headers=STAFF, json=DUTY)
            ).status_code == 200
            r = await client.post("/api/tickets/tickets", headers=RESIDENT, json=report(1))
            assert r.status_code == 201, r.text
        messages = await eventually(lambda: staff_inbox(linli.url), timeout=20)
        assert [m["subject"] for m in messages] == [r.json()["id"]]
    finally:
        linli.stop()


async def test_a_killed_notify_process_still_delivers_every_event_exactly_once(
    process_env, tmp_path, redis_url, prefix
):
    tickets = LinliProcess(["tickets"], process_env, tmp_path / "tickets.log")
    notify = LinliProcess(["notify"], process_env, tmp_path / "notify.log")
    tickets.start()
    notify.start()
    try:
        async with httpx.AsyncClient(base_url=notify.url) as client:
            assert (
                await client.put("/api/notify/recipients/staff:li-yao", headers=STAFF, json=DUTY)
            ).status_code == 200
        async with httpx.AsyncClient(base_url=tickets.url) as client:

            async def post(n: int) -> str:
                r = await client.post("/api/tickets/tickets", headers=RESIDENT, json=report(n))
                assert r.status_code == 201, r.text
                return r.json()["id"]

            burst = asyncio.gather(*(post(n) for n in range(60)))
            await eventually(lambda: staff_inbox(notify.url), timeout=20)
            notify.kill()  # mid-stream: some messages stored, others read but unacknowledged or unread
            ticket_ids = await burst
        notify.start()  # a new process: new consumer name, the dead one's pending entries are reclaimed
        messages = await eventually(lambda: _all_delivered(notify.url, len(ticket_ids)), timeout=45)
        subjects = [m["subject"] for m in messages]
        assert sorted(subjects) == sorted(ticket_ids)  # every ticket, none twice
        pending = redis.Redis.from_url(redis_url).xpending(f"{prefix}:tickets", "notify")["pending"]
        assert pending == 0
    finally:
        notify.stop()
        tickets.stop()


async def _all_delivered(base: str, expected: int):
    messages = await staff_inbox(base)
    return messages if len(messages) >= expected else None


async def test_linli_run_starts_a_private_redis_when_none_answers(process_env, tmp_path):
    from tests.support.redis_server import free_port

    env = dict(process_env, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    linli = LinliProcess(["notify"], env, tmp_path / "private.log")
    linli.start()
    try:
        ready = httpx.get(f"{linli.url}/readyz").json()
        assert ready["checks"]["redis"] == "ok"
        log = (tmp_path / "private.log").read_text()
        assert "started a private redis-server" in log
        private_url = re.search(r"private redis-server\s+at\s+(redis://\S+)", log).group(1)
        assert redis.Redis.from_url(private_url).ping()
    finally:
        linli.stop()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and reachable(private_url):
        time.sleep(0.1)
    assert not reachable(private_url)  # the private Redis ends with the process that started it


def test_linli_run_says_what_to_install_when_there_is_no_redis(process_env, tmp_path):
    import subprocess
    import sys

    from tests.support.redis_server import free_port

    env = dict(process_env, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", PATH=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "host.cli", "run", "notify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path.parent),
    )
    assert result.returncode == 2
    assert "apt-get install redis-server" in result.stdout


def test_linli_run_refuses_a_port_in_use(process_env, tmp_path):
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "host.cli", "run", "notify", "--port", str(port)],
            env={**os.environ, **process_env},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert "already in use" in result.stdout
