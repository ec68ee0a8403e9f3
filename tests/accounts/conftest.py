"""Accounts served over real HTTP (uvicorn in this process, on a free port) with every service of the
runtime verifying tokens by accounts' own JWKS, an SMTP server receiving the codes, and helpers."""

from __future__ import annotations

import asyncio
import re
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn

from services.accounts.config import accounts_settings
from services.accounts.demo import DEMO
from services.accounts.domain.claims import Grant
from services.accounts.service_layer import register
from shared.config import get_settings
from tests.notify.conftest import Mailbox
from tests.support.redis_server import free_port


@pytest.fixture
def mailbox():
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


@pytest.fixture
def served(start_runtime, monkeypatch, mailbox):
    """``async with served(["accounts", "tickets"]) as (runtime, client)``: a real HTTP server; tokens
    verified by ``LINLI_JWKS_URL`` of that server; codes mailed to ``<phone>@sms.linli.test``."""

    @asynccontextmanager
    async def start(targets, **changes):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        monkeypatch.setenv("LINLI_JWKS_URL", f"{base}/.well-known/jwks.json")
        monkeypatch.setenv(
            "ACCOUNTS_CODE_URL",
            f"mailto://127.0.0.1:{mailbox.port}?from=accounts@linli.test&to={{phone}}@sms.linli.test&mode=insecure",
        )
        get_settings.cache_clear()
        accounts_settings.cache_clear()
        try:
            async with start_runtime(targets, **changes) as (runtime, _):
                server = uvicorn.Server(
                    uvicorn.Config(runtime.build_app(), host="127.0.0.1", port=port, log_config=None, lifespan="off")
                )
                task = asyncio.create_task(server.serve())
                while not server.started:
                    await asyncio.sleep(0.02)
                async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                    yield runtime, client
                server.should_exit = True
                await task
        finally:
            monkeypatch.delenv("LINLI_JWKS_URL")
            get_settings.cache_clear()
            accounts_settings.cache_clear()

    return start


def resident(runtime, phone: str = "13912345678", name: str = "张晓森", room: str = "201", sub: str | None = None):
    """A household of 北翟营 亚龙花园 3-1-<room> and a resident in it, written straight to the store."""
    ctx = runtime.contexts["accounts"]
    with ctx.store.transaction() as s:
        if s.get(register.Community, "北翟营") is None:
            register.add_community(ctx, s, DEMO, "北翟营", "北翟营社区", "裕华区")
        home = register.place(ctx, s, DEMO, register.Address("北翟营", "亚龙花园", "3", "1", room))
        person = register.register(ctx, s, DEMO, name=name, phone=phone, household_id=home.id, sub=sub)
        return person.id, home.id


def grant(runtime, person_id: str, wanted: Grant) -> None:
    ctx = runtime.contexts["accounts"]
    with ctx.store.transaction() as s:
        register.grant(ctx, s, DEMO, person_id, wanted)


def code_in(mailbox: Mailbox, phone: str) -> str:
    """The six digits of the last message mailed to ``phone``."""
    messages = mailbox.to(f"{phone}@sms.linli.test")
    assert messages, f"no code was mailed to {phone}"
    return re.search(r"\b(\d{6})\b", Mailbox.text(messages[-1])).group(1)


async def sign_in(client: httpx.AsyncClient, mailbox: Mailbox, phone: str) -> dict:
    from services.accounts.domain.phones import normalise
    from tests.conftest import eventually

    typed, phone = phone, normalise(phone)
    before = len(mailbox.to(f"{phone}@sms.linli.test"))
    asked = await client.post("/api/accounts/auth/code", json={"phone": typed})
    assert asked.status_code == 202, asked.text
    await eventually(lambda: len(mailbox.to(f"{phone}@sms.linli.test")) > before)
    answer = await client.post("/api/accounts/auth/token", json={"phone": typed, "code": code_in(mailbox, phone)})
    assert answer.status_code == 200, answer.text
    return answer.json()


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}
