"""The volunteers edge refuses bad input with problem+json: a 4xx with a stable code, the input not
echoed, nothing written. Each test names a class of input that the old edge (60f56e5) answered with a
500, an unbounded list or a bare ``{"detail": …}``."""

from __future__ import annotations

import json

from sqlalchemy import func
from sqlmodel import Session, select

from services.volunteers.adapters.orm import Campaign, Elder, Pairing, PlanPause, Team, Visit, VisitLog, Volunteer
from tests.volunteers.helpers import (
    API,
    LEADER,
    STAFF,
    WANG,
    add_volunteer,
    ok,
    pair,
    paired_elder,
    register,
    setup_team,
)

PROBLEM = "application/problem+json"


def counts(runtime) -> dict[str, int]:
    """Rows per table of the volunteers store: what a refused request must leave unchanged."""
    ctx = runtime.contexts["volunteers"]
    with Session(ctx.store.engine) as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Team, Volunteer, Elder, Pairing, PlanPause, Visit, VisitLog, Campaign)
        }


def refused(response, status: int, code: str, *, never: tuple[str, ...] = ()) -> dict:
    """A problem+json refusal with ``status`` and ``code`` that does not echo any of ``never``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers["content-type"]
    body = response.json()
    assert body["status"] == status and body["code"] == code, body
    for text in never:
        assert text not in response.text, f"{text!r} echoed: {response.text}"
    return body


def raw(fields: dict, name: str, number: str) -> dict:
    """``content=`` and headers for ``fields`` plus ``name`` set to the JSON literal ``number``
    (``1e400`` cannot be written with ``json=``)."""
    inner = json.dumps(fields, ensure_ascii=False)[1:-1]
    text = "{" + (f"{inner}, " if inner else "") + f'"{name}": {number}' + "}"
    return {"content": text.encode(), "headers": STAFF | {"content-type": "application/json"}}


async def test_infinite_numbers_are_422_and_nothing_is_stored(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        ids = await setup_team(client)
        elder = await register(client)
        before = counts(runtime)
        hostile = "1e400"  # JSON for infinity: the old edge's 422 tried to echo it and failed to encode (500)
        volunteer = {"name": "赵美玲", "community": "3502", "user_id": "volunteer:zhao"}
        r = await client.post(f"{API}/volunteers", **raw(volunteer, "weekly_cap", hostile))
        body = refused(r, 422, "invalid", never=(hostile, "inf", "赵美玲"))
        assert [e["field"] for e in body["errors"]] == ["body.weekly_cap"]
        new_elder = {"name": "陈奶奶", "community": "3502", "building": "1", "unit": "1", "tier": "key"}
        r = await client.post(f"{API}/elders", **raw(new_elder, "floor", hostile))
        body = refused(r, 422, "invalid", never=(hostile, "inf", "陈奶奶"))
        assert [e["field"] for e in body["errors"]] == ["body.floor"]
        r = await client.patch(f"{API}/volunteers/{ids['wang']}", **raw({}, "weekly_cap", "-" + hostile))
        refused(r, 422, "invalid", never=(hostile, "inf"))
        visit = {"elder_id": elder["id"], "volunteer_id": ids["wang"]}
        r = await client.post(f"{API}/logs", **raw(visit, "minutes", hostile))
        refused(r, 422, "invalid", never=(hostile, "inf"))
        assert counts(runtime) == before
        wang = await ok(await client.get(f"{API}/volunteers/{ids['wang']}", headers=STAFF))
        assert wang["weekly_cap"] == 3


async def test_dates_outside_2000_to_2099_are_422_and_nothing_is_stored(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        ids = await setup_team(client)
        elder = await register(client)
        await pair(client, elder["id"], ids["wang"])
        before = counts(runtime)
        far = ("0001-01-01T00:00:00", "9999-12-31T23:59:59")  # the old edge: OverflowError in the clock's arithmetic
        for starts, ends in ((far[0], "2026-12-20T00:00:00"), ("2026-12-05T00:00:00", far[1]), far):
            r = await client.post(
                f"{API}/elders/{elder['id']}/pauses",
                headers=LEADER,
                json={"starts_at": starts, "ends_at": ends, "reason": "住院"},
            )
            refused(r, 422, "invalid", never=("0001-01", "9999-12"))
        for when in far:
            r = await client.post(
                f"{API}/logs", headers=WANG, json={"elder_id": elder["id"], "minutes": 30, "visited_at": when}
            )
            refused(r, 422, "invalid", never=("0001-01", "9999-12"))
            r = await client.post(
                f"{API}/campaigns", headers=LEADER, json={"name": "寒潮慰问", "due_at": when, "community": "3502"}
            )
            refused(r, 422, "invalid", never=("0001-01", "9999-12", "寒潮慰问"))
        assert counts(runtime) == before
        # a logged visit cannot be moved out of range either
        logged = await ok(
            await client.post(f"{API}/logs", headers=WANG, json={"elder_id": elder["id"], "minutes": 30}), 201
        )
        r = await client.patch(
            f"{API}/logs/{logged['log_id']}", headers=WANG, json={"visited_at": far[0], "reason": "改时间"}
        )
        refused(r, 422, "invalid", never=("0001-01",))
        shown = await ok(await client.get(f"{API}/visits/{logged['id']}", headers=WANG))
        assert shown["logs"][0]["history"] == []


async def test_empty_user_id_is_422_and_no_volunteer_is_added(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        await setup_team(client)
        before = counts(runtime)
        for user_id in ("", " ", "x" * 129):  # the old edge stored "" once, then answered 500 (IntegrityError)
            r = await client.post(
                f"{API}/volunteers", headers=STAFF, json={"name": "赵美玲", "community": "3502", "user_id": user_id}
            )
            body = refused(r, 422, "invalid", never=("赵美玲", "x" * 129))
            assert [e["field"] for e in body["errors"]] == ["body.user_id"]
        assert counts(runtime) == before


async def test_lists_are_bounded_cursor_pages(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        ids = await setup_team(client)
        for name in ("郝连芳", "陈奶奶", "李大爷"):
            await register(client, name)
        before = counts(runtime)
        lists = ("/teams", "/volunteers", "/elders", "/survey?community=3502", "/reports/hours")
        for path in lists:
            for limit in ("-1", "0", "100000"):  # the old edge returned every row for limit=-1
                sep = "&" if "?" in path else "?"
                r = await client.get(f"{API}{path}{sep}limit={limit}", headers=STAFF)
                refused(r, 422, "invalid", never=("100000",))
        r = await client.get(f"{API}/volunteers", headers=STAFF, params={"cursor": "bm90LWEta2V5"})
        refused(r, 422, "bad_cursor")

        # pages of 2 walk the whole list once, in a stable order by a unique key
        seen, cursor = [], None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = await ok(await client.get(f"{API}/volunteers", headers=STAFF, params=params))
            assert len(page["items"]) <= 2
            seen += [v["id"] for v in page["items"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        assert seen == sorted(ids.values())
        first = await ok(await client.get(f"{API}/elders", headers=STAFF, params={"limit": 2}))
        rest = await ok(
            await client.get(f"{API}/elders", headers=STAFF, params={"limit": 2, "cursor": first["next_cursor"]})
        )
        assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest.get("next_cursor") is None
        assert {e["name"] for e in first["items"] + rest["items"]} == {"郝连芳", "陈奶奶", "李大爷"}
        assert counts(runtime) == before


async def test_path_ids_and_filters_are_bounded(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        await setup_team(client)
        before = counts(runtime)
        long_id = "E" * 65  # the old edge looked it up and answered 404
        refused(await client.get(f"{API}/elders/{long_id}", headers=STAFF), 422, "invalid", never=(long_id,))
        r = await client.post(f"{API}/elders/{long_id}/tier", headers=STAFF, json={"tier": "key", "reason": "x"})
        refused(r, 422, "invalid", never=(long_id,))
        r = await client.get(f"{API}/elders", headers=STAFF, params={"community": "c" * 65})
        refused(r, 422, "invalid", never=("c" * 65,))
        r = await client.get(f"{API}/elders", headers=STAFF, params={"community": "35\x0002"})
        refused(r, 422, "invalid")
        r = await client.get(f"{API}/reports/coverage", headers=STAFF, params={"community": "3502", "month": "2026-13"})
        refused(r, 422, "invalid", never=("2026-13",))
        r = await client.post(f"{API}/volunteers", headers=STAFF, json={"name": "赵\x07美玲", "community": "3502"})
        refused(r, 422, "invalid")
        r = await client.post(
            f"{API}/volunteers", headers=STAFF, json={"name": "赵美玲", "community": "3502", "skills": ["chat\x00"]}
        )
        refused(r, 422, "invalid")
        assert counts(runtime) == before


async def test_refusals_are_problem_json_with_a_stable_code(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        ids, elder = await paired_elder(client, "李大爷", tier="high_risk")  # one visit a week
        before = counts(runtime)
        r = await client.post(
            f"{API}/pairings", headers=LEADER, json={"elder_id": elder["id"], "volunteer_id": ids["wang"]}
        )
        assert "已结对" in refused(r, 409, "already_paired")["detail"]
        zhao = await add_volunteer(client, "赵美玲", "volunteer:zhao-meiling", weekly_cap=1)
        r = await client.post(
            f"{API}/volunteers",
            headers=LEADER,
            json={"name": "赵美玲", "community": "3502", "user_id": "volunteer:zhao-meiling"},
        )
        refused(r, 409, "already_volunteer", never=("volunteer:zhao-meiling",))
        other = await register(client, "陈奶奶", tier="high_risk")
        await pair(client, other["id"], zhao["id"])
        r = await client.post(
            f"{API}/pairings", headers=LEADER, json={"elder_id": elder["id"], "volunteer_id": zhao["id"]}
        )
        assert "上限" in refused(r, 409, "weekly_cap")["detail"]
        r = await client.get(f"{API}/elders/E-nobody", headers=STAFF)
        refused(r, 404, "not_found", never=("E-nobody",))
        after = counts(runtime)
        assert after["Pairing"] == before["Pairing"] + 1 and after["Volunteer"] == before["Volunteer"] + 1
