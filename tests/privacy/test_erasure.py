"""Issue 15, done-when: erase a resident who has tickets, loans, notifications and follows, then find
nothing personal of theirs in any store, stream (the dead-letter stream included), photo folder or log.

One runtime of every service. The resident is registered in accounts with the ``sub`` the other
services know them by; they report with a photo, rate with a comment, follow a neighbour's report,
borrow a book and wait for another, sign a child up for a workshop, volunteer, and have an in-app
inbox and a held WeCom delivery. Staff erase them in accounts; every service's consumer of
``ResidentErased`` does the rest. A partner forging ``ResidentErased`` on its ingress is
dead-lettered and erases nobody.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import redis as sync_redis
from sqlalchemy import select

from services.accounts.jobs import scrub
from shared.erasure import TOMBSTONE
from shared.events.accounts import ResidentErased
from shared.events.envelope import new_event
from tests.activities.conftest import publish, room, sign_up
from tests.conftest import eventually, token
from tests.tickets.helpers import png_bytes

EXPORTING = ["tickets", "library", "notify", "activities", "volunteers"]
SERVICES = ["accounts", "tickets", "library", "notify", "volunteers", "activities"]
OPERATOR = token("operator:privacy", "operator")
STAFF = token("staff:privacy", "staff", name="李瑶")
NEIGHBOUR_SUB = "resident:privacy-neighbour"
NEIGHBOUR = token(NEIGHBOUR_SUB, "resident", community="智汇城")

SUB = "resident:privacy-erased-7f3a"
NAME = "欧阳抹除"
PHONE = "13912340077"
CARD = "11010519491231002X"
CARD_MASK = "110105********002X"
DESCRIPTION = "抹除测试-我家301门口楼道灯坏了"
UNIT_MARK = "抹除单元-9"
ADDRESS = "抹除路77号"
RATING_NOTE = "抹除评价-修得不错"
REOPEN_NOTE = "抹除重开-还是不亮"
BOT_KEY = "wecombot://erasuremarkerkey0123456789"
CHILD = "抹除小雨"
VOLUNTEER_PHONE = "13912340078"
MARKERS = [
    NAME,
    PHONE,
    CARD,
    CARD_MASK,
    DESCRIPTION,
    ADDRESS,
    RATING_NOTE,
    REOPEN_NOTE,
    BOT_KEY,
    CHILD,
    VOLUNTEER_PHONE,
    BOT_KEY.split("://")[1],
]
"""What is personal and must be gone everywhere: stores, outboxes, streams, dead letters, logs."""
STORED = [*MARKERS, UNIT_MARK]
"""Also gone from every table but the outboxes: the report's unit travels in TicketOpened (staff are told
where), as the title does; what is left there (``SUB``, the title, building and unit) names nobody once the
register entry behind ``SUB`` is erased, and goes when sent rows are purged (``LINLI_OUTBOX_RETENTION_HOURS``)."""

ME = token(SUB, "resident", name=NAME, community="智汇城", household="H-ERASE")


async def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def rows_of(runtime) -> dict[str, str]:
    """Every row of every table of every service's store, as text per ``service.table``."""
    found: dict[str, str] = {}
    for name, ctx in runtime.contexts.items():
        with ctx.store.transaction(readonly=True) as s:
            for table in ctx.module.metadata.sorted_tables:
                rows = s.execute(select(table)).all()
                found[f"{name}.{table.name}"] = json.dumps([list(r) for r in rows], ensure_ascii=False, default=str)
    return found


def redis_text(settings) -> dict[str, str]:
    """Every key under the test's prefix as text: streams entry by entry (the dead-letter stream too)."""
    client = sync_redis.Redis.from_url(settings.redis_url)
    out: dict[str, str] = {}
    try:
        for key in client.scan_iter(f"{settings.stream_prefix}:*", count=1000):
            kind = client.type(key).decode()
            if kind == "stream":
                value = client.xrange(key)
            elif kind == "hash":
                value = client.hgetall(key)
            elif kind == "string":
                value = client.get(key)
            elif kind in ("set", "zset", "list"):
                value = {
                    "set": client.smembers,
                    "zset": lambda k: client.zrange(k, 0, -1),
                    "list": lambda k: client.lrange(k, 0, -1),
                }[kind](key)
            else:
                value = kind
            out[key.decode()] = repr(value).encode().decode("unicode_escape", errors="replace") + _decoded(value)
    finally:
        client.close()
    return out


def _decoded(value) -> str:
    """Stream entries' bytes as UTF-8 text, so Chinese markers are found as written."""
    parts: list[str] = []

    def walk(v) -> None:
        if isinstance(v, bytes):
            parts.append(v.decode("utf-8", errors="replace"))
        elif isinstance(v, dict):
            for k, w in v.items():
                walk(k)
                walk(w)
        elif isinstance(v, list | tuple | set):
            for w in v:
                walk(w)
        else:
            parts.append(str(v))

    walk(value)
    return "\n".join(parts)


def leaks(texts: dict[str, str], markers: list[str]) -> dict[str, list[str]]:
    return {where: hits for where, text in texts.items() if (hits := [m for m in markers if m in text])}


async def seed(client, clock) -> dict:
    """The resident's life in Linli, through the API."""
    ids: dict = {}
    await ok(
        await client.post("/api/accounts/communities", headers=OPERATOR, json={"code": "智汇城", "name": "智汇城社区"}),
        201,
    )
    home = await ok(
        await client.post(
            "/api/accounts/households",
            headers=OPERATOR,
            json={"community": "智汇城", "estate": "抹除苑", "building": "1", "unit": "2", "room": "301"},
        ),
        201,
    )
    person = await ok(
        await client.post(
            "/api/accounts/people",
            headers=OPERATOR,
            json={"name": NAME, "phone": PHONE, "household_id": home["id"], "sub": SUB},
        ),
        201,
    )
    ids["person"] = person["id"]
    # notify: a WeCom bot held for a digest twelve hours away, so nothing is sent
    digest = (datetime.now(ZoneInfo("Asia/Shanghai")).hour + 12) % 24
    await ok(
        await client.put(
            f"/api/notify/recipients/{SUB}",
            headers=OPERATOR,
            json={
                "display_name": NAME,
                "community": "智汇城",
                "channels": [{"name": "wecom", "url": BOT_KEY}],
                "digest_hour": digest,
            },
        )
    )
    # tickets: their report with a photo, resolved, rated, reopened; a neighbour's report they follow
    form = {
        "category": "street_light",
        "title": "楼道灯不亮",
        "description": DESCRIPTION,
        "community": "智汇城",
        "building": "1",
        "unit": UNIT_MARK,
        "address": ADDRESS,
    }
    mine = await ok(
        await client.post(
            "/api/tickets/tickets", headers=ME, data=form, files=[("photo", ("p.png", png_bytes(), "image/png"))]
        ),
        201,
    )
    ids["ticket"] = mine["id"]
    await ok(await client.post(f"/api/tickets/tickets/{mine['id']}/acknowledge", headers=STAFF, json={}))
    await ok(await client.post(f"/api/tickets/tickets/{mine['id']}/resolve", headers=STAFF, json={"note": "已换灯"}))
    await ok(await client.post(f"/api/tickets/tickets/{mine['id']}/reopen", headers=ME, json={"comment": REOPEN_NOTE}))
    await ok(await client.post(f"/api/tickets/tickets/{mine['id']}/resolve", headers=STAFF, json={"note": "再换"}))
    await ok(
        await client.post(
            f"/api/tickets/tickets/{mine['id']}/rate", headers=ME, json={"rating": 4, "comment": RATING_NOTE}
        )
    )
    theirs = await ok(
        await client.post(
            "/api/tickets/tickets",
            headers=NEIGHBOUR,
            json={"category": "street_light", "title": "路灯不亮", "description": "小区门口", "community": "智汇城"},
        ),
        201,
    )
    ids["followed"] = theirs["id"]
    await ok(await client.post(f"/api/tickets/tickets/{theirs['id']}/follow", headers=ME))
    # library: a card linked to the account, a loan and a hold
    await ok(
        await client.put(
            "/api/library/branches/ERASE-ZHC",
            headers=OPERATOR,
            json={"name": "抹除书屋", "institution": "LINLI", "community": "智汇城"},
        )
    )
    for isbn, title in (("9787020002207", "红楼梦"), ("9787536692930", "三体")):
        await ok(await client.put("/api/library/titles", headers=STAFF, json={"isbn": isbn, "title": title}))
    for barcode, isbn in (("ER-1", "9787020002207"), ("ER-2", "9787536692930")):
        await ok(
            await client.post(
                "/api/library/copies",
                headers=STAFF,
                json={"barcode": barcode, "isbn": isbn, "home_branch": "ERASE-ZHC"},
            ),
            201,
        )
    reader = await ok(
        await client.post("/api/library/readers", headers=STAFF, json={"id_number": CARD, "name": NAME, "user": SUB}),
        201,
    )
    ids["reader"] = reader["id"]
    await ok(
        await client.post(
            "/api/library/checkout",
            headers=STAFF,
            json={"reader_id": reader["id"], "barcode": "ER-1", "branch": "ERASE-ZHC"},
        ),
        201,
    )
    await ok(
        await client.post(
            "/api/library/checkout",
            headers=STAFF,
            json={"reader_id": reader["id"], "barcode": "ER-2", "branch": "ERASE-ZHC"},
        ),
        201,
    )
    hold = await ok(
        await client.post(
            "/api/library/holds", headers=ME, json={"isbn": "9787536692930", "pickup_branch": "ERASE-ZHC"}
        ),
        201,
    )
    ids["hold"] = hold["id"]
    # activities: a place for their child at a workshop
    venue = await room(client)
    activity = await publish(client, venue, clock)
    activity_id = activity["sessions"][0]["id"]
    ids["signup"] = (await ok(await sign_up(client, activity_id, ME, participant=CHILD, age=8, guardian=True), 201))[
        "id"
    ]
    # volunteers: they volunteer in their community
    await ok(
        await client.post(
            "/api/volunteers/volunteers",
            headers=STAFF,
            json={"name": NAME, "community": "智汇城", "user_id": SUB, "phone": VOLUNTEER_PHONE},
        ),
        201,
    )
    return ids


@pytest.mark.timeout(120)
async def test_an_erased_resident_leaves_nothing_personal_anywhere(start_runtime, settings, clock, caplog):
    caplog.set_level(logging.DEBUG)
    async with start_runtime(SERVICES, clock=clock) as (runtime, client):
        ids = await seed(client, clock)
        # the inbox and the held delivery exist, so the search below is meaningful
        inbox = await eventually(lambda: _inbox(client))
        assert inbox, "the resident has in-app messages"
        await eventually(lambda: any(BOT_KEY.split("://")[1] in t for t in rows_of(runtime).values()))
        before = rows_of(runtime)
        assert set(leaks(before, MARKERS)) >= {"tickets.ticket", "library.reader", "notify.recipient"}, leaks(
            before, MARKERS
        )
        photos = list((settings.var_dir / "media" / "tickets").rglob("*.*"))
        assert photos, "the report's photo is stored"

        # before: each service exports what it keeps about them (their own copy, PIPL art. 45)
        exports = {svc: await ok(await client.get(f"/api/{svc}/me/export", headers=ME)) for svc in EXPORTING}
        assert DESCRIPTION in str(exports["tickets"]["records"]["reports"])
        assert exports["tickets"]["records"]["follows"][0]["ticket_id"] == ids["followed"]
        assert exports["library"]["records"]["reader"][0]["id_masked"] == CARD_MASK and CARD not in str(exports)
        assert len(exports["library"]["records"]["loans"]) == 2 and exports["library"]["records"]["holds"]
        assert exports["notify"]["records"]["inbox"] and BOT_KEY not in str(exports["notify"]), "channels masked"
        assert exports["activities"]["records"]["signups"][0]["participant"] == CHILD
        assert exports["volunteers"]["records"]["volunteer"][0]["phone"] == VOLUNTEER_PHONE

        # a partner forging an erasure on its ingress is dead-lettered and erases nobody
        forged = new_event(ResidentErased(person_id="P-neighbour", sub=NEIGHBOUR_SUB, erased_at=clock.now()))
        partner = sync_redis.Redis.from_url(settings.redis_url)
        partner.xadd(f"{settings.stream_prefix}:partner:CN-SJZ-LIB:in", {"cloudevent": forged.to_json()})

        erased = await ok(await client.post(f"/api/accounts/people/{ids['person']}/erase", headers=STAFF))
        assert erased["erased"]

        def done() -> bool:
            texts = rows_of(runtime)
            return (
                not leaks(texts, MARKERS)
                and not leaks(_tables(texts), STORED)
                and all(SUB not in text for where, text in texts.items() if not _pseudonym_allowed(where))
            )

        try:
            await eventually(done, timeout=20)
        except AssertionError:
            texts = rows_of(runtime)
            stray = {w: t[:300] for w, t in texts.items() if SUB in t and not _pseudonym_allowed(w)}
            raise AssertionError(f"left after erasure: {leaks(texts, STORED)} {stray}") from None
        # accounts deletes the person's earlier entries from its stream (the ticker every 30 s)
        assert await scrub(runtime.contexts["accounts"], clock.now()) >= 1  # PersonRegistered; ResidentErased stays
        dlq = await eventually(lambda: partner.xrange(f"{settings.stream_prefix}:dlq"))
        partner.close()
        assert any(
            b"unsupported_type" in json.dumps({k.decode(): v.decode() for k, v in f.items()}).encode() for _, f in dlq
        )

        after = rows_of(runtime)
        assert not leaks(after, MARKERS) and not leaks(_tables(after), STORED)
        stray = {w: t[:200] for w, t in after.items() if SUB in t and not _pseudonym_allowed(w)}
        assert not stray, stray
        left = redis_text(settings)
        assert not leaks(left, MARKERS), "streams, the dead-letter stream and the rest of Redis"
        assert not leaks({"log": caplog.text}, MARKERS), "the logs"
        assert not [p for p in photos if p.exists()], "the report's photo files are removed"

        for svc in EXPORTING:
            left = (await ok(await client.get(f"/api/{svc}/me/export", headers=ME)))["records"]
            assert not any(left.values()), (svc, left)

        # statistics stay; the person does not
        ticket = await ok(await client.get(f"/api/tickets/tickets/{ids['ticket']}", headers=STAFF))
        assert ticket["category"] == "street_light" and ticket["status"] == "closed" and ticket["rating"] == 4
        assert ticket["reporter"] == TOMBSTONE and not ticket["photos"]
        neighbour = await ok(await client.get(f"/api/tickets/tickets/{ids['followed']}", headers=NEIGHBOUR))
        assert neighbour["description"] == "小区门口", "a neighbour's report is untouched"
        assert (await client.get("/api/library/readers/me", headers=ME)).status_code == 404
        assert (await client.get("/api/notify/preferences", headers=ME)).json().get("display_name") != NAME
        assert not (await ok(await client.get("/api/notify/inbox", headers=ME)))["items"]
        held = await ok(await client.get(f"/api/activities/signups/{ids['signup']}", headers=STAFF))
        assert held["status"] == "cancelled"
        # the neighbour's record, which the forged partner event named, is still there
        assert (await client.get("/api/notify/inbox", headers=NEIGHBOUR)).status_code == 200
        assert "recipient" not in leaks(after, [NEIGHBOUR_SUB])  # (they never registered: nothing to compare)


def _tables(texts: dict[str, str]) -> dict[str, str]:
    return {where: text for where, text in texts.items() if not where.endswith(".outbox")}


def _pseudonym_allowed(where: str) -> bool:
    """Where the pseudonymous ``sub`` may stay: accounts (never reused), outboxes (events already sent,
    purged after ``LINLI_OUTBOX_RETENTION_HOURS``) and inboxes (event ids only)."""
    service, table = where.split(".", 1)
    return service == "accounts" or table in ("outbox", "inbox")


async def _inbox(client) -> list:
    answer = await client.get("/api/notify/inbox", headers=ME)
    return answer.json()["items"] if answer.status_code == 200 else []
