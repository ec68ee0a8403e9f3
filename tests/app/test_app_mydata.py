"""我的数据 in the app's settings: a resident downloads a copy of her data (PIPL art. 45) as one JSON file, in
Debian's chromium against every service served by uvicorn, with the fixtures of test_app_browser."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import uvicorn

from host import catalog
from services.accounts.config import accounts_settings
from shared.config import get_settings
from tests.app.test_app_browser import ARGS, CHROMIUM, HERE, PHONE, Axe, api_token, seed_people, seed_services, sign_in
from tests.conftest import eventually
from tests.support.redis_server import free_port

pytestmark = [pytest.mark.timeout(180)]

DOWN = {"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": "library is restarting"}


async def test_a_resident_downloads_her_data_as_one_file_even_with_a_service_down(settings):
    from playwright.async_api import async_playwright, expect

    assert CHROMIUM.exists(), "the app's browser test needs Debian's chromium: apt-get install chromium"
    expect.set_options(timeout=10_000)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    get_settings.cache_clear()
    accounts_settings.cache_clear()
    runtime = catalog.build_runtime(None, settings=settings)
    server = uvicorn.Server(
        uvicorn.Config(
            runtime.build_app(), host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
        )
    )
    task = asyncio.create_task(server.serve())
    axe = Axe()
    try:
        await eventually(lambda: server.started, timeout=30)
        await asyncio.to_thread(seed_people, runtime)
        await asyncio.to_thread(seed_services, runtime)  # with two reports by another resident
        async with httpx.AsyncClient(base_url=base, timeout=10) as client, async_playwright() as pw:
            zhao = await api_token(client, settings, "13900000002")  # a resident of another community reports too
            other = await client.post(
                "/api/tickets/tickets",
                headers=zhao,
                json={
                    "category": "street_light",
                    "title": "路灯不亮",
                    "description": "智汇城1号楼路灯不亮",
                    "community": "智汇城",
                },
            )
            assert other.status_code == 201, other.text

            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            context = await browser.new_context(
                **PHONE, permissions=["geolocation"], geolocation=HERE, accept_downloads=True
            )
            page = await context.new_page()
            await sign_in(page, base, settings, "13900000001", expect)
            await expect(page.locator("#geo")).to_contain_text("已定位")
            await page.select_option("#category", "manhole")
            await page.fill("#title", "井盖松动")
            await page.fill("#description", "亚龙花园3号楼前井盖翘起，晚上看不清")
            await page.click("#send")
            await expect(page.locator("#status")).to_have_text("已提交")
            mine = page.url.rsplit("/", 1)[-1]

            # the library is down: its part says so, the other five still download
            async def library_down(route):
                await route.fulfill(status=503, content_type="application/problem+json", body=json.dumps(DOWN))

            await page.route("**/api/library/me/export", library_down)
            await page.goto(f"{base}/app/#/settings")
            section = page.locator("#mydata")
            await expect(section.locator("h2")).to_have_text("我的数据")
            await expect(section).to_contain_text("社区居委会办公室")  # erasure is asked for in person
            button = page.get_by_role("button", name="下载我的数据")
            async with page.expect_download() as caught:
                await button.click()
            download = await caught.value
            assert download.suggested_filename.startswith("linli-my-data-")
            assert download.suggested_filename.endswith(".json")
            copy = json.loads((await download.path()).read_text())

            status = page.locator("#mydata-status")
            await expect(status.locator("li[data-service=library]")).to_have_text("借阅：暂不可用")
            await expect(status.locator("li[data-service=tickets]")).to_have_text("报事：已包含")
            await expect(status.locator("li.ok")).to_have_count(5)
            await axe.check(page, "settings with my data")

            assert copy["exported_at"]
            parts = copy["services"]
            assert set(parts) == {"accounts", "tickets", "library", "notify", "activities", "volunteers"}
            assert parts["library"]["error"] == "library is restarting" and parts["library"]["status"] == 503
            assert parts["accounts"]["sub"] == "resident:zhang-xiaosen" and parts["accounts"]["name"] == "张晓森"
            assert parts["accounts"]["phone_masked"] != "13900000001"  # the copy masks the phone as the API does
            tickets = parts["tickets"]
            assert tickets["subject"] == "resident:zhang-xiaosen"
            reports = tickets["records"]["reports"]
            filed = {r["id"]: r for r in reports}
            assert filed[mine]["title"] == "井盖松动"  # hers (the demo's own report of hers is there too)
            assert {r["reporter"] for r in reports} == {"resident:zhang-xiaosen"}
            assert other.json()["id"] not in filed
            text = json.dumps(tickets, ensure_ascii=False)
            assert "路灯不亮" not in text and "垃圾桶满溢" not in text and "井盖有响声" not in text  # no one else's
            for name in ("notify", "activities", "volunteers"):
                assert parts[name]["subject"] == "resident:zhang-xiaosen", name

            # in English, the same section
            await page.check("input[name=lang][value=en]")
            await expect(section.locator("h2")).to_have_text("My data")
            await expect(page.get_by_role("button", name="Download my data")).to_be_visible()
            await expect(section).to_contain_text("community office")
            await browser.close()
        assert axe.pages == ["settings with my data"]
        assert not axe.found, json.dumps(axe.found, ensure_ascii=False, indent=1)
    finally:
        expect.set_options(timeout=5_000)
        server.should_exit = True
        await asyncio.wait_for(task, 15)
        get_settings.cache_clear()
        accounts_settings.cache_clear()
