"""ETag / If-Match on the mutable resources: a write based on a state someone else changed is refused (412).

Each case is what two editors of one resource see: both read it (GET answers its ``ETag``), the first saves with
``If-Match`` and gets the new tag, the second saves with the tag it read and is refused with 412
``precondition_failed`` — the first's change stays. A write without ``If-Match`` still goes through.
"""

from __future__ import annotations

import asyncio

from tests.conftest import token

STAFF = token("staff:li-yao", "staff", name="李瑶")
OPERATOR = token("ops:wang", "operator")


def _stale(r) -> None:
    assert r.status_code == 412, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "precondition_failed"


async def _two_editors(
    client, url: str, headers: dict, first: dict, second: dict, *, method: str = "PUT", write: str | None = None
) -> str:
    """Both read ``url``; the first's conditional save (to ``write``, else ``url``) passes, the second's (same tag)
    is refused; returns the tag after the first save, checked to be what a fresh GET answers."""
    seen = await client.get(url, headers=headers)
    assert seen.status_code == 200, seen.text
    etag = seen.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong: If-Match compares strongly
    assert (await client.get(url, headers=headers)).headers["ETag"] == etag  # nothing changed, same tag
    write_url = write or url
    saved = await client.request(method, write_url, headers={**headers, "If-Match": etag}, json=first)
    assert saved.status_code == 200, saved.text
    new_tag = saved.headers["ETag"]
    assert new_tag != etag
    _stale(await client.request(method, write_url, headers={**headers, "If-Match": etag}, json=second))
    _stale(await client.request(method, write_url, headers={**headers, "If-Match": f"W/{new_tag}"}, json=second))
    assert (await client.get(url, headers=headers)).headers["ETag"] == new_tag
    return new_tag


async def test_a_category_changed_by_another_staff_member_is_not_overwritten(start_runtime):
    async with start_runtime(["tickets"]) as (_, client):
        url = "/api/tickets/categories/manhole"
        tag = await _two_editors(client, url, STAFF, {"response_hours": 4}, {"response_hours": 8})
        assert (await client.get(url)).json()["response_hours"] == 4  # the first editor's change stayed
        ok = await client.put(url, headers={**STAFF, "If-Match": f'"x", {tag}'}, json={"response_hours": 6})
        assert ok.status_code == 200  # one of the listed tags is current
        assert (await client.put(url, headers=STAFF, json={"response_hours": 3})).status_code == 200  # no If-Match
        assert (await client.get(url)).json()["response_hours"] == 3
        assert (
            await client.put(url, headers={**STAFF, "If-Match": "*"}, json={"response_hours": 2})
        ).status_code == 200
        _stale(await client.put("/api/tickets/categories/new_kind", headers={**STAFF, "If-Match": "*"}, json={}))
        assert (await client.get("/api/tickets/categories/new_kind")).status_code == 404  # nothing was created


async def test_quiet_hours_changed_on_another_device_are_not_undone(start_runtime):
    resident = token("resident:zhao-xiaotong", "resident", name="赵晓彤")
    async with start_runtime(["notify"]) as (_, client):
        url = "/api/notify/preferences"
        never_set = (await client.get(url, headers=resident)).headers["ETag"]
        tag = await _two_editors(
            client, url, resident, {"quiet_start": "22:00", "quiet_end": "07:00"}, {"language": "en"}
        )
        assert tag != never_set
        mine = (await client.get(url, headers=resident)).json()
        assert mine["quiet_hours"] == {"start": "22:00", "end": "07:00"} and mine["language"] == "zh-CN"
        # staff registering the same person see the same state, and a stale staff write is refused as well
        staff_url = "/api/notify/recipients/resident:zhao-xiaotong"
        assert (await client.get(staff_url, headers=STAFF)).headers["ETag"] == tag
        body = {"display_name": "赵晓彤", "roles": ["resident"], "community": "智汇城"}
        _stale(await client.put(staff_url, headers={**STAFF, "If-Match": never_set}, json=body))
        ok = await client.put(staff_url, headers={**STAFF, "If-Match": tag}, json=body)
        assert ok.status_code == 200, ok.text
        _stale(await client.put(url, headers={**resident, "If-Match": tag}, json={"language": "en"}))
        assert (await client.put(url, headers=resident, json={"language": "en"})).status_code == 200  # no If-Match


async def test_a_loan_rule_changed_by_another_operator_is_not_overwritten(start_runtime):
    async with start_runtime(["library"]) as (_, client):
        rule = {"branch": "CN-SJZ-YH-ZHC", "reader_group": "*", "max_loans": 3, "loan_days": 30}
        rule |= {"max_renewals": 1, "renewal_days": 30}
        assert (await client.put("/api/library/policies", headers=OPERATOR, json=rule)).status_code == 200
        url = "/api/library/policies/CN-SJZ-YH-ZHC/*"
        seen = (await client.get(url, headers=OPERATOR)).headers["ETag"]
        first = await client.put(
            "/api/library/policies", headers={**OPERATOR, "If-Match": seen}, json=rule | {"max_loans": 5}
        )
        assert first.status_code == 200 and first.headers["ETag"] != seen
        _stale(
            await client.put(
                "/api/library/policies", headers={**OPERATOR, "If-Match": seen}, json=rule | {"max_loans": 2}
            )
        )
        after = await client.get(url, headers=OPERATOR)
        assert after.json()["max_loans"] == 5 and after.headers["ETag"] == first.headers["ETag"]
        other = rule | {"reader_group": "children"}  # another rule: its own state, none yet
        _stale(await client.put("/api/library/policies", headers={**OPERATOR, "If-Match": "*"}, json=other))
        assert (await client.get("/api/library/policies/CN-SJZ-YH-ZHC/children", headers=OPERATOR)).status_code == 404


async def test_an_elder_s_plan_and_health_data_are_not_overwritten_from_a_stale_copy(start_runtime, clock):
    from tests.volunteers.helpers import API, LEADER, WANG, paired_elder

    async with start_runtime(["volunteers"], clock=clock) as (_, client):
        _, elder = await paired_elder(client)
        url = f"{API}/elders/{elder['id']}"
        seen = await client.get(url, headers=STAFF)
        tag = seen.headers["ETag"]
        assert (await client.get(f"{url}/health", headers=STAFF)).headers["ETag"] == tag  # one elder, one state
        assert (await client.get(url, headers=LEADER)).headers["ETag"] == tag  # whoever looks
        first = await client.put(
            f"{url}/plan", headers={**STAFF, "If-Match": tag}, json={"rrule": "FREQ=WEEKLY;BYDAY=TU"}
        )
        assert first.status_code == 200, first.text
        _stale(
            await client.put(f"{url}/plan", headers={**LEADER, "If-Match": tag}, json={"rrule": "FREQ=WEEKLY;BYDAY=FR"})
        )
        health = {"conditions": "高血压", "notes": "", "emergency_name": "郝女士", "emergency_phone": "13611112222"}
        _stale(await client.put(f"{url}/health", headers={**LEADER, "If-Match": tag}, json=health))
        now = first.headers["ETag"]
        assert (await client.get(url, headers=STAFF)).json()["plan"]["rrule"].endswith("BYDAY=TU")
        saved = await client.put(f"{url}/health", headers={**LEADER, "If-Match": now}, json=health)
        assert saved.status_code == 200, saved.text
        assert (await client.get(url, headers=STAFF)).headers["ETag"] == saved.headers["ETag"] != now
        # a paired volunteer may read but not change her: the answer is 403, whatever tag is sent
        assert (
            await client.put(f"{url}/plan", headers={**WANG, "If-Match": tag}, json={"rrule": "FREQ=WEEKLY"})
        ).status_code == 403


async def test_two_conditional_writes_of_the_same_state_on_postgresql_one_wins(start_runtime, pg_database, monkeypatch):
    """Both read the same tag and save at once: the advisory lock makes the second see the first's change."""
    monkeypatch.setenv("TICKETS_DATABASE_URL", pg_database("etag_tickets"))
    async with start_runtime(["tickets"]) as (_, client):
        url = "/api/tickets/categories/manhole"
        tag = (await client.get(url)).headers["ETag"]
        answers = await asyncio.gather(
            *(
                client.put(url, headers={**STAFF, "If-Match": tag}, json={"response_hours": hours})
                for hours in (3, 4, 5, 6, 7, 8)
            )
        )
        assert sorted(r.status_code for r in answers) == [200, 412, 412, 412, 412, 412]
        winner = next(r for r in answers if r.status_code == 200)
        assert (await client.get(url)).json()["response_hours"] == winner.json()["response_hours"]


async def test_every_other_put_and_patch_of_a_mutable_resource_refuses_a_stale_write(start_runtime, clock):
    """Rooms and their hours, routing rules, branches, titles, the duty roster, teams and volunteers."""
    from tests.activities.conftest import STAFF as ZHC_STAFF
    from tests.activities.conftest import room
    from tests.volunteers.helpers import API, LEADER, add_volunteer, setup_team

    services = ["tickets", "notify", "library", "volunteers", "activities"]
    async with start_runtime(services, clock=clock) as (_, client):
        venue = f"/api/activities/venues/{await room(client)}"
        await _two_editors(client, venue, ZHC_STAFF, {"capacity": 25}, {"capacity": 30}, method="PATCH")
        hours = {"rules": [{"weekday": 5, "opens": "09:00", "closes": "17:00"}]}
        await _two_editors(client, venue, ZHC_STAFF, hours, {"rules": []}, write=f"{venue}/hours")
        assert (await client.get(venue, headers=ZHC_STAFF)).json()["capacity"] == 25

        rule = "/api/notify/rules/TicketResolved"
        body = {k: v for k, v in (await client.get(rule, headers=OPERATOR)).json().items() if k != "event"}
        await _two_editors(client, rule, OPERATOR, body | {"critical": "true"}, body)

        branch = {"name": "智汇城漂流书屋", "institution": "LINLI", "community": "智汇城"}
        assert (await client.put("/api/library/branches/ZHC-T", headers=OPERATOR, json=branch)).status_code == 200
        url = "/api/library/branches/ZHC-T"
        await _two_editors(client, url, OPERATOR, branch | {"address": "4楼"}, branch | {"address": "3楼"})
        book = {"isbn": "9787020002207", "title": "红楼梦"}
        assert (await client.put("/api/library/titles", headers=STAFF, json=book)).status_code == 200
        await _two_editors(
            client,
            "/api/library/titles/9787020002207",
            STAFF,
            book | {"author": "曹雪芹"},
            book,
            write="/api/library/titles",
        )

        duty = "/api/tickets/staff/manhole/staff:li-yao"
        assert (await client.put(duty, headers=STAFF, json={"display_name": "李瑶"})).status_code == 200
        await _two_editors(client, duty, STAFF, {"display_name": "李瑶", "on_duty": False}, {"display_name": "李瑶"})

        await setup_team(client)
        team = f"{API}/teams/axqm-3502"
        shown = (await client.get(team, headers=STAFF)).json()
        body = {k: shown[k] for k in ("name", "community", "leader", "staff_contact")}
        await _two_editors(client, team, STAFF, body | {"name": "爱心敲门队"}, body)
        volunteer = f"{API}/volunteers/{(await add_volunteer(client, '赵桂英', 'volunteer:zhao-guiying'))['id']}"
        await _two_editors(client, volunteer, LEADER, {"weekly_cap": 4}, {"weekly_cap": 2}, method="PATCH")
