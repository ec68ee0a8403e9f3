"""The console in a real browser: headless Debian chromium (Playwright) against the whole system served
by uvicorn on a loopback port. Screenshots go to a temporary folder, or to LINLI_SCREENSHOT_DIR
(`make screenshots` refreshes docs/img/ for the README)."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path

import httpx
import pytest
import uvicorn

from host import catalog
from host.runtime import Runtime
from ops.dlq import list_dead
from ops.entries import EventFilter, recent
from shared.web.auth import mint_token
from tests.conftest import eventually
from tests.ops.flows import consumer_outage, open_ticket, record_notification_sent, staff_inbox_titles, staff_on_duty
from tests.support.redis_server import free_port

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(os.environ.get("LINLI_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="linli-shots-")) / "console.png"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [pytest.mark.timeout(120)]


async def serve(runtime: Runtime) -> tuple[uvicorn.Server, asyncio.Task, str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            runtime.build_app(), host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
        )
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, timeout=30)
    return server, task, f"http://127.0.0.1:{port}"


async def test_operator_watches_filters_redrives_and_traces_in_a_browser(settings):
    from playwright.async_api import async_playwright, expect

    assert CHROMIUM.exists(), "the console's browser test needs Debian's chromium: apt-get install chromium"

    runtime = catalog.build_runtime(None, settings=settings.model_copy(update={"max_deliveries": 2}))
    server, task, base = await serve(runtime)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client, async_playwright() as pw:
            await staff_on_duty(client)
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            page = await browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")

            # log in by pasting an operator token
            await page.goto(f"{base}/console")
            await expect(page).to_have_url(f"{base}/console/login")
            await page.fill("textarea[name=token]", mint_token("operator:ops", ["operator"]))
            await page.click("button[type=submit]")
            await expect(page).to_have_url(f"{base}/console")
            await expect(page.locator("#health .pill.good").first).to_be_visible()
            await expect(page.locator("#live.on")).to_be_visible()

            # a new event appears live, without reloading the page
            await page.evaluate("window.notReloaded = true")
            first = await open_ticket(client, "井盖松动")
            row = page.locator("#event-rows tr.event", has_text=first)
            await expect(row).to_be_visible(timeout=10_000)
            await expect(row.locator("td.type")).to_have_text("TicketOpened")
            assert await page.evaluate("window.notReloaded") is True
            assert "13812345678" not in await page.content()

            # filter by type
            await page.fill("input[name=type]", "TicketClosed")
            await page.click("form.filters button[type=submit]")
            await expect(page.locator("#event-rows tr.empty")).to_be_visible()
            await expect(page.locator("#event-rows tr.event")).to_have_count(0)
            await page.fill("input[name=type]", "TicketOpened")
            await page.click("form.filters button[type=submit]")
            await expect(page.locator("#event-rows tr.event", has_text=first)).to_be_visible()
            await expect(page.locator("#live.on")).to_be_visible()
            second = await open_ticket(client, "路灯不亮", building="7")
            await expect(page.locator("#event-rows tr.event", has_text=second)).to_be_visible(timeout=10_000)
            types = await page.locator("#event-rows tr.event").evaluate_all("rows => rows.map(r => r.dataset.type)")
            assert types and set(types) == {"cn.linli.tickets.TicketOpened.v1"}

            # notify fails on a ticket, it is dead-lettered; the operator redrives it and sees it processed
            with consumer_outage(runtime.contexts["notify"]):
                lost = await open_ticket(client, "电梯异响", building="9")
                await eventually(lambda: _dead_subjects(runtime, lost), timeout=20)
            await page.click("nav >> text=死信 Dead letters")
            dead_row = page.locator("#dlq tr.dead", has_text=lost)
            await expect(dead_row).to_contain_text("handler_failed")
            await dead_row.locator("button.redrive").click()
            done = page.locator("#dlq tr.done", has_text=lost)
            await expect(done).to_contain_text("redriven")
            await eventually(lambda: _has(staff_inbox_titles(client), "电梯异响"), timeout=15)
            await done.locator("a.followup").click()
            notify_state = page.locator("#deliveries tr", has_text="notify").locator("td.state")
            for _ in range(50):
                if (await notify_state.inner_text()) == "acknowledged":
                    break
                await asyncio.sleep(0.2)
                await page.reload()
            await expect(notify_state).to_have_text("acknowledged")

            # open a trace: TicketOpened -> NotificationSent, as a timeline
            opened = next(
                e
                for e in await recent(runtime.redis, [runtime.names.events("tickets")], EventFilter(subject=first))
                if e.short_type == "TicketOpened"
            )
            record_notification_sent(runtime, opened, first)
            await page.goto(f"{base}/console")
            await expect(page.locator("#event-rows tr.event", has_text="NotificationSent")).to_be_visible(
                timeout=10_000
            )
            await page.locator("#event-rows tr.event", has_text=first).first.locator("a.trace").click()
            await expect(page).to_have_url(re.compile(r"/console/trace\?id="))
            hops = page.locator("#timeline li.hop")
            await expect(hops.first).to_contain_text("TicketOpened")
            await expect(page.locator("#timeline")).to_contain_text(
                re.compile(r"TicketOpened → NotificationSent \d+ ms")
            )

            # the group board, then the screenshot the README shows (the live log)
            await page.click("nav >> text=消费组 Groups")
            await expect(page.locator("#board tr.group-row").first).to_be_visible()
            await expect(page.locator("#board svg.chart").first).to_be_visible()
            await page.screenshot(path=str(SCREENSHOT.with_name("console-groups.png")), full_page=False)
            await page.goto(f"{base}/console")
            await expect(page.locator("#live.on")).to_be_visible()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT), full_page=False)
            assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            await browser.close()
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=20)


async def _dead_subjects(runtime, subject) -> bool:
    return any(d.entry.subject == subject for d in await list_dead(runtime.redis, runtime.names))


async def _has(coro, text) -> bool:
    return any(text in t for t in await coro)
