"""The residents' app (/app) in a real browser: Debian's chromium (Playwright) at a phone's viewport
(390 x 844) against every service served by uvicorn on a loopback port, tokens signed by accounts and
verified through its JWKS. One runtime and one browser for the module; each person has their own context.

Screenshots go to a temporary folder, or to LINLI_SCREENSHOT_DIR (docs/img for the README)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import tempfile
from datetime import UTC, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from PIL import Image
from sqlmodel import select

from host import catalog
from services.accounts.adapters import codes
from services.accounts.config import accounts_settings
from services.accounts.demo import DEMO
from services.accounts.domain.claims import Grant
from services.accounts.service_layer import register
from services.accounts.service_layer.register import phone_hash
from shared.clock import local
from shared.config import get_settings
from tests.conftest import eventually
from tests.support.redis_server import free_port

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "support" / "axe.min.js"
SHOTS = Path(os.environ.get("LINLI_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="linli-app-shots-"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
HERE = {"latitude": 38.00215, "longitude": 114.52370}  # 亚龙花园, 北翟营

pytestmark = [pytest.mark.timeout(180)]

PEOPLE = [
    # sub, name, phone, home or community, grants
    ("resident:zhang-xiaosen", "张晓森", "13900000001", ("北翟营", "亚龙花园", "3", "1", "201"), []),
    ("resident:zhao-xiaotong", "赵晓彤", "13900000002", ("智汇城", "智汇城", "1", "1", "101"), []),
    ("staff:wang-jianguo", "王建国", "13900000011", "北翟营", [Grant("staff", community="北翟营")]),
    ("staff:li-yao", "李瑶", "13900000010", "智汇城", [Grant("staff", community="智汇城")]),
    (
        "volunteer:wang-guilan",
        "王桂兰",
        "13900000021",
        "3502",
        [Grant("volunteer", community="3502", team="axqm-3502")],
    ),
]


def seed_people(runtime) -> None:
    """The walk-through's people in the register (the demo's 11,000 households are not needed here)."""
    ctx = runtime.contexts["accounts"]
    with ctx.store.transaction() as s:
        for code in ("北翟营", "智汇城", "3502"):
            if s.get(register.Community, code) is None:
                register.add_community(ctx, s, DEMO, code, f"{code}社区", "裕华区")
        for sub, name, phone, home, grants in PEOPLE:
            if isinstance(home, tuple):
                household = register.place(ctx, s, DEMO, register.Address(*home))
                person = register.register(ctx, s, DEMO, name=name, phone=phone, household_id=household.id, sub=sub)
            else:
                person = register.register(ctx, s, DEMO, name=name, phone=phone, community=home, sub=sub)
            for wanted in grants:
                register.grant(ctx, s, DEMO, person.id, wanted)


def seed_services(runtime) -> None:
    for name in ("tickets", "volunteers", "activities"):
        ctx = runtime.contexts[name]
        ctx.module.demo(ctx)
    from services.tickets.service_layer import reports

    ctx = runtime.contexts["tickets"]
    with ctx.store.transaction() as s:  # an open report a few metres away: the app offers to follow it
        reports.open_report(
            ctx,
            s,
            category="manhole",
            title="井盖有响声",
            description="3号楼北侧井盖踩上去有响声",
            reporter="resident:neighbour",
            community="北翟营",
            building="3",
            lat=HERE["latitude"] + 0.0001,
            lon=HERE["longitude"],
            photos=[],
        )
        late = reports.open_report(
            ctx,
            s,
            category="sanitation",
            title="垃圾桶满溢",
            description="3号楼垃圾桶两天没清运",
            reporter="resident:neighbour",
            community="北翟营",
            building="3",
            photos=[],
        ).ticket
        late.first_response_due = ctx.clock.now() - timedelta(hours=1)  # its answer is an hour late
        s.add(late)


async def api_token(client: httpx.AsyncClient, settings, phone: str) -> dict[str, str]:
    """Sign ``phone`` in over HTTP (setup only): its access token as a header."""
    assert (await client.post("/api/accounts/auth/code", json={"phone": phone})).status_code == 202
    code, _ = codes.last_code(settings, phone_hash(phone))
    answer = await client.post("/api/accounts/auth/token", json={"phone": phone, "code": code})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def sign_in(page, base: str, settings, phone: str, expect) -> None:
    await page.goto(f"{base}/app/")
    await expect(page.locator("#phone")).to_be_visible()
    await page.fill("#phone", phone)
    await page.click("#ask")
    await expect(page.locator("#code")).to_be_visible()
    found = await eventually(lambda: codes.last_code(settings, phone_hash(phone)))
    await page.fill("#code", found[0])
    await page.click("#verify")
    await expect(page).to_have_url(re.compile(r"#/(report|staff|volunteer)$"))  # the home of their role
    await expect(page.locator("#tabs")).to_be_visible()


class Axe:
    """axe-core in the page: WCAG 2.1 A/AA rules; serious and critical findings are collected per page."""

    def __init__(self) -> None:
        self.script = AXE.read_text()
        self.found: dict[str, list[str]] = {}
        self.pages: list[str] = []

    async def check(self, page, name: str) -> None:
        if not await page.evaluate("typeof axe !== 'undefined'"):
            await page.evaluate(self.script)
        result = await page.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        )
        self.pages.append(name)
        bad = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if bad:
            self.found[name] = bad


async def quiet(page, top: bool = True) -> None:
    """Before a screenshot: no passing message over the page, scrolled to the top."""
    await page.evaluate("document.getElementById('toast').hidden = true")
    if top:
        await page.evaluate("window.scrollTo(0, 0)")


async def shown(page, locator, timeout: float = 10_000) -> None:
    """Wait for a part of the page; if it never comes, fail with what the page says instead."""
    from playwright.async_api import expect

    try:
        await expect(locator).to_be_visible(timeout=timeout)
    except AssertionError as missing:
        raise AssertionError(f"{missing}\n{page.url} shows:\n{await page.locator('main').inner_text()}") from None


def jpeg(colour: tuple[int, int, int] = (90, 90, 96)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(out, "JPEG", quality=80)
    return out.getvalue()


async def test_residents_staff_and_volunteers_use_the_app_on_a_phone(settings, monkeypatch, tmp_path):
    from playwright.async_api import async_playwright, expect

    assert CHROMIUM.exists(), "the app's browser test needs Debian's chromium: apt-get install chromium"
    expect.set_options(timeout=10_000)  # a loaded 2-core machine; the live steps wait longer where they say so
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
    photo = tmp_path / "manhole.jpg"
    photo.write_bytes(jpeg())
    fixed = tmp_path / "fixed.jpg"  # the photo after the fix (another picture: photos are kept by content)
    fixed.write_bytes(jpeg((40, 110, 60)))
    axe = Axe()
    try:
        await eventually(lambda: server.started, timeout=30)
        await asyncio.to_thread(seed_people, runtime)
        await asyncio.to_thread(seed_services, runtime)
        async with httpx.AsyncClient(base_url=base, timeout=10) as client, async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)

            # -- sign in; 随手拍 with a photo and the phone's location; the open report nearby is offered --
            resident = await browser.new_context(**PHONE, permissions=["geolocation"], geolocation=HERE)
            page = await resident.new_page()
            await page.goto(f"{base}/app/")
            await expect(page.locator("#phone")).to_be_visible()
            await axe.check(page, "sign-in")
            await quiet(page)
            await page.screenshot(path=str(SHOTS / "app-signin.png"))
            await sign_in(page, base, settings, "13900000001", expect)
            await expect(page).to_have_url(f"{base}/app/#/report")
            await expect(page.locator("#geo")).to_contain_text("已定位")
            await page.set_input_files("#photo", str(photo))
            await page.select_option("#category", "manhole")
            nearby = page.locator("#nearby")
            await expect(nearby).to_contain_text("附近已有类似报事，关注它？")
            await expect(nearby.locator("li")).to_contain_text("3号楼北侧井盖")
            await page.fill("#title", "井盖松动")
            await page.fill("#description", "亚龙花园3号楼前井盖翘起，晚上看不清")
            await axe.check(page, "report")
            await quiet(page, top=False)
            await nearby.scroll_into_view_if_needed()
            await page.screenshot(path=str(SHOTS / "app-report.png"))
            await page.click("#send")
            await expect(page).to_have_url(re.compile(r"#/ticket/T"))
            ticket_id = page.url.rsplit("/", 1)[-1]
            await expect(page.locator("#status")).to_have_text("已提交")
            await expect(page.locator("#promise")).not_to_have_text("—")
            await expect(page.locator("img.photo")).to_have_count(1)
            await expect(page.locator("body.live")).to_be_visible()
            tickets = runtime.contexts["tickets"]
            with tickets.store.transaction() as s:
                from services.tickets.adapters.orm import Ticket

                filed = s.get(Ticket, ticket_id)
                assert (filed.lat, filed.lon) == (pytest.approx(HERE["latitude"]), pytest.approx(HERE["longitude"]))
                assert filed.reporter == "resident:zhang-xiaosen" and filed.community == "北翟营"
            await page.evaluate("window.notReloaded = true")

            # -- staff acknowledge in a second context; the resident's page shows it live ---------------
            staff_ctx = await browser.new_context(**PHONE)
            desk = await staff_ctx.new_page()
            await sign_in(desk, base, settings, "13900000011", expect)
            await expect(desk).to_have_url(f"{base}/app/#/staff")
            first = desk.locator("#queue li.work").first  # the overdue report heads the queue
            await expect(first).to_contain_text("垃圾桶满溢")
            await expect(first).to_contain_text("已逾期")
            await expect(desk.locator("#queue li.overdue")).to_have_count(1)
            row = desk.locator("#queue li.work", has_text="井盖松动")
            await expect(row).to_be_visible()
            await expect(desk.locator("#rate-response")).to_be_visible()
            await axe.check(desk, "staff queue")
            await quiet(desk)
            await desk.screenshot(path=str(SHOTS / "app-staff.png"))
            await row.locator("a").click()
            await desk.fill("#ack-note", "已收到，物业马上安排人员查看")
            await desk.click("#ack")
            answered = re.compile("已受理|已派单")  # acknowledging assigns at once when someone is on duty
            await expect(desk.locator("#status")).to_have_text(answered)
            await expect(page.locator("#status")).to_have_text(answered, timeout=15_000)
            await expect(page.locator(".timeline")).to_contain_text("已受理")
            await expect(page.locator(".timeline")).to_contain_text("已收到，物业马上安排人员查看")
            await expect(page.locator("#badge")).to_be_visible()
            assert await page.evaluate("window.notReloaded") is True

            # -- staff resolve with a photo; the resident confirms with a rating --------------------------
            await axe.check(desk, "staff ticket")
            await desk.fill("#resolve-note", "井盖已更换并固定")
            await desk.set_input_files("#resolve-photo", str(fixed))
            await desk.click("#resolve")
            await expect(desk.locator("#status")).to_have_text("已办结")
            await expect(page.locator("#status")).to_have_text("已办结", timeout=15_000)
            await expect(page.locator("#rate")).to_be_visible()
            fix = page.locator(".timeline li", has_text="井盖已更换并固定")
            await expect(fix.locator("img.thumb")).to_have_count(1)  # staff's photo of the fix
            await axe.check(page, "ticket")
            await quiet(page)
            await page.screenshot(path=str(SHOTS / "app-ticket.png"))
            await page.check("input[name=rating][value='5']")
            await page.fill("#comment", "很快，谢谢！")
            await page.click("#rate button[type=submit]")
            await expect(page.locator("#status")).to_have_text("已关闭")
            await expect(page.locator("main")).to_contain_text("您的评价：5 星")
            with tickets.store.transaction() as s:
                assert s.get(Ticket, ticket_id).rating == 5

            # -- the session refreshes quietly: a refused access token is replaced, the page just works ---
            spent = await page.evaluate("JSON.parse(localStorage['linli.session']).refresh")
            await page.evaluate(
                "(() => { const s = JSON.parse(localStorage['linli.session']); s.access = 'not.a.token';"
                " localStorage['linli.session'] = JSON.stringify(s); })()"
            )
            await page.goto(f"{base}/app/#/reports")
            await expect(page.locator("#mine li", has_text="井盖松动")).to_be_visible()
            assert await page.evaluate("JSON.parse(localStorage['linli.session']).refresh") != spent

            # -- a report written offline is kept, then sent once when the phone is online again ----------
            await page.goto(f"{base}/app/#/report")
            await expect(page.locator("#geo")).to_contain_text("已定位")
            assert await page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
            await resident.set_offline(True)
            await page.reload()  # no network: the service worker answers the shell, 随手拍 opens all the same
            await expect(page.locator("#category option[value=street_light]")).to_be_attached()
            assert await page.evaluate("navigator.serviceWorker.controller !== null")
            await expect(page.locator("#geo")).to_contain_text("已定位")
            await page.select_option("#category", "street_light")
            await page.fill("#title", "路灯不亮")
            await page.fill("#description", "3号楼西侧路灯晚上不亮")
            await page.click("#send")
            await expect(page.locator("#waiting li.queued")).to_have_text("路灯不亮")
            await expect(page.locator("#net")).to_contain_text("离线")
            await resident.set_offline(False)
            await expect(page.locator("p.sent")).to_contain_text("路灯不亮", timeout=15_000)
            await expect(page.locator("#waiting")).to_be_hidden()
            await page.goto(f"{base}/app/#/reports")
            await expect(page.locator("#mine li", has_text="路灯不亮")).to_have_count(1)
            with tickets.store.transaction() as s:
                assert len(s.exec(select(Ticket).where(Ticket.title == "路灯不亮")).all()) == 1
            await axe.check(page, "my reports")
            await page.goto(f"{base}/app/#/inbox")
            await expect(page.locator("#notes li").first).to_be_visible()
            await axe.check(page, "inbox")
            await page.goto(f"{base}/app/#/settings")
            await page.check("#large")
            await page.check("#contrast")
            await axe.check(page, "settings (large text, high contrast)")
            await quiet(page)
            await page.screenshot(path=str(SHOTS / "app-settings.png"))
            await page.check("input[name=lang][value=en]")
            await expect(page.locator("#tabs")).to_contain_text("My reports")
            await expect(page.locator("h1")).to_have_text("Settings")
            assert await page.evaluate("document.documentElement.lang") == "en"

            # -- a mother signs her children up: a place, then the waitlist ------------------------------
            li_yao = await api_token(client, settings, "13900000010")
            starts = local(runtime.clock.now()).replace(hour=15, minute=0, second=0, microsecond=0) + timedelta(days=2)
            while starts.weekday() > 4:  # the children's room is open Monday to Saturday; a weekday is always free
                starts += timedelta(days=1)
            made = await client.post(
                "/api/activities/activities",
                headers=li_yao,
                json={
                    "venue_id": "ZHC-401",
                    "title": "手工风筝",
                    "description": "智汇橙手工课：扎一只风筝",
                    "starts_at": starts.astimezone(UTC).isoformat(),
                    "minutes": 90,
                    "capacity": 1,
                },
            )
            assert made.status_code == 201, made.text
            mother = await browser.new_context(**PHONE)
            mum = await mother.new_page()
            gate = asyncio.Event()  # her home page (随手拍) is still loading its categories when she opens 活动

            async def slow_categories(route) -> None:
                await gate.wait()
                await route.continue_()

            await mum.route("**/api/tickets/categories*", slow_categories)
            await sign_in(mum, base, settings, "13900000002", expect)
            await mum.goto(f"{base}/app/#/activities")
            kite = mum.locator("li.activity", has_text="手工风筝")
            await shown(mum, kite, timeout=20_000)
            async with mum.expect_response("**/api/tickets/categories*"):
                gate.set()  # the page she left finishes loading: it must not draw over the one she is on
            await mum.unroute("**/api/tickets/categories*")
            await shown(mum, kite)
            await kite.locator("input[name=participant]").fill("小雨")
            await kite.locator("input[name=age]").fill("8")
            await kite.locator("button[type=submit]").click()
            mine = mum.locator("#signups li.signup", has_text="小雨")
            await expect(mine).to_contain_text("已报名")
            await expect(mine.locator("figure.qr svg")).to_be_visible()
            kite = mum.locator("li.activity", has_text="手工风筝")
            await expect(kite).to_contain_text("余 0 / 1 位")  # the list is drawn again with the place taken
            await shown(mum, kite)
            await kite.locator("input[name=participant]").fill("小明")
            await kite.locator("input[name=age]").fill("7")
            await kite.locator("button[type=submit]").click()
            waiting = mum.locator("#signups li.signup", has_text="小明")
            await expect(waiting).to_contain_text("候补中")
            await expect(waiting).to_contain_text("前面还有 0 人")
            await axe.check(mum, "activities")
            await expect(mum.locator("li.activity", has_text="手工风筝")).to_contain_text("15:00")  # Beijing time
            await expect(mum.locator("li.activity", has_text="手工风筝")).to_contain_text("余 0 / 1 位 · 候补 1 人")
            await quiet(mum)
            await mum.screenshot(path=str(SHOTS / "app-activities.png"))

            # -- a volunteer logs a visit; the hazard she found becomes a repair ticket --------------------
            vol_ctx = await browser.new_context(**PHONE)
            vol = await vol_ctx.new_page()
            await sign_in(vol, base, settings, "13900000021", expect)
            await expect(vol).to_have_url(f"{base}/app/#/volunteer")
            elders = vol.locator("#elders li.elder")
            await expect(elders.first).to_be_visible()
            paired = _paired_elders(runtime, "volunteer:wang-guilan")
            assert sorted(await elders.locator("strong").all_inner_texts()) == sorted(paired)
            await axe.check(vol, "volunteer")
            await quiet(vol)
            await vol.screenshot(path=str(SHOTS / "app-volunteer.png"))
            await elders.first.locator("a").click()
            await vol.fill("#minutes", "40")
            await vol.select_option("#ck-safety_gas", "problem")
            await vol.select_option("#ck-health_mood", "ok")
            await vol.click("#add-hazard")
            await vol.select_option("#hz-cat-0", "gas")
            await vol.fill("#hz-desc-0", "燃气软管老化开裂")
            await vol.fill("#hz-loc-0", "厨房")
            await axe.check(vol, "visit log")
            await vol.click("#save-log")
            await expect(vol.locator("#logged")).to_contain_text("走访已记录")
            ticketed = vol.locator("#logged .ticketed")
            await expect(ticketed).to_contain_text("已转为报修单", timeout=30_000)
            hazard_ticket = (await ticketed.inner_text()).split()[-1]
            with tickets.store.transaction() as s:
                assert s.get(Ticket, hazard_ticket).source_hazard_id is not None

            await browser.close()
        assert len(axe.pages) == 11, axe.pages
        assert not axe.found, json.dumps(axe.found, ensure_ascii=False, indent=1)
    finally:
        expect.set_options(timeout=5_000)
        server.should_exit = True
        await asyncio.wait_for(task, 15)
        get_settings.cache_clear()
        accounts_settings.cache_clear()


def _paired_elders(runtime, sub: str) -> list[str]:
    from services.volunteers.adapters.orm import Elder, Pairing, Volunteer

    ctx = runtime.contexts["volunteers"]
    with ctx.store.transaction() as s:
        me = s.exec(select(Volunteer).where(Volunteer.user_id == sub)).one()
        pairs = s.exec(select(Pairing).where(Pairing.volunteer_id == me.id, Pairing.ended_at == None)).all()  # noqa: E711
        return [s.get(Elder, p.elder_id).name for p in pairs]
