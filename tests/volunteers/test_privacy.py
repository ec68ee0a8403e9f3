"""PIPL in the volunteers service: consent for an elder's health data, and the access log of sensitive reads."""

from __future__ import annotations

from sqlmodel import select

from services.volunteers.adapters.orm import Elder, access_log
from tests.conftest import token
from tests.volunteers.helpers import API, CONSENT_PURPOSE, LEADER, STAFF, WANG, ok, paired_elder, published, setup_team
from tests.volunteers.test_scope import OPERATOR, STAFF_3502, STAFF_BZY

BARE = {"name": "陈奶奶", "community": "3502", "building": "7", "unit": "1", "tier": "general"}
HEALTH = {"conditions": "冠心病", "notes": "每日服药", "emergency_name": "陈先生", "emergency_phone": "13755556666"}


async def test_health_data_is_kept_only_with_a_current_consent(start_runtime, clock, settings):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        await setup_team(client)
        # health data without consent is refused, and nothing is registered
        r = await client.post(f"{API}/elders", headers=STAFF, json=BARE | HEALTH)
        assert r.status_code == 409 and r.json()["code"] == "consent_required"
        assert (await ok(await client.get(f"{API}/elders", headers=STAFF)))["items"] == []
        # without health data an elder is registered as before; her health cannot be added yet
        elder = await ok(await client.post(f"{API}/elders", headers=STAFF, json=BARE), 201)
        assert elder["health_consent"] is False
        url = f"{API}/elders/{elder['id']}"
        r = await client.put(f"{url}/health", headers=STAFF, json=HEALTH)
        assert r.status_code == 409 and r.json()["code"] == "consent_required"
        # her daughter consents for her; the consent says who, for what, when, recorded by whom
        given = await ok(
            await client.post(
                f"{url}/consents",
                headers=STAFF,
                json={"given_by": "陈女士", "relation": "family", "purpose": CONSENT_PURPOSE},
            ),
            201,
        )
        assert given["recorded_by"] == "staff:li-yao" and given["current"] is True
        assert given["consented_at"] == "2026-11-28T10:00:00+08:00" and given["withdrawn_at"] is None
        saved = await ok(await client.put(f"{url}/health", headers=STAFF, json=HEALTH))
        assert saved["conditions"] == "冠心病" and saved["consent_id"] == given["id"]
        # withdrawn: conditions, notes and the emergency phone are erased from the store
        r = await client.post(f"{url}/consents/{given['id']}/withdraw", headers=LEADER, json={"reason": "本人要求"})
        withdrawn = await ok(r)
        assert withdrawn["current"] is False and withdrawn["withdrawn_by"] == "volunteer:zhang-xiuqin"
        health = await ok(await client.get(f"{url}/health", headers=STAFF))
        assert health["conditions"] == "" and health["notes"] == "" and health["emergency_contact"]["phone"] is None
        with runtime.contexts["volunteers"].store.transaction() as session:
            row = session.exec(select(Elder).where(Elder.id == elder["id"])).one()
            assert (row.conditions, row.notes, row.emergency_phone) == ("", "", None)
        # the history of consents stays; a second withdrawal is refused
        history = (await ok(await client.get(f"{url}/consents", headers=STAFF)))["items"]
        assert [(c["given_by"], c["current"]) for c in history] == [("陈女士", False)]
        r = await client.post(f"{url}/consents/{given['id']}/withdraw", headers=STAFF, json={})
        assert r.status_code == 409
        # a volunteer cannot record or withdraw consents
        r = await client.post(f"{url}/consents", headers=WANG, json={"given_by": "x", "purpose": "y"})
        assert r.status_code == 403
        # no event carries the health data
        assert not any("冠心病" in str(e) or "13755556666" in str(e) for e in published(settings))


async def test_every_sensitive_read_is_in_the_access_log_without_its_values(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        ids, elder = await paired_elder(client)
        await ok(await client.get(f"{API}/elders/{elder['id']}/health", headers=WANG))
        await ok(await client.get(f"{API}/volunteers/{ids['wang']}", headers=LEADER))  # her full phone
        # a masked answer is not a sensitive read: the unpaired side sees nothing to log
        await ok(await client.get(f"{API}/volunteers", headers=LEADER))

        log = await ok(await client.get(f"{API}/access-log", headers=STAFF_3502))
        entries = log["items"]
        health = next(e for e in entries if e["actor"] == "volunteer:wang-guilan")
        assert health["subject_kind"] == "elder" and health["subject_id"] == elder["id"]
        assert health["fields"] == ["emergency_phone", "health"]
        assert health["purpose"] == "GET /api/volunteers/elders/{elder_id}/health"
        assert health["community"] == "3502" and health["at"] == "2026-11-28T10:00:00+08:00"
        phone = entries[0]  # newest first
        assert (phone["actor"], phone["subject_id"], phone["fields"]) == (
            "volunteer:zhang-xiuqin",
            ids["wang"],
            ["phone"],
        )
        # the log holds no values
        for value in ("高血压", "子女在外地", "13611112222", "13900001111"):
            assert value not in str(log)
        with runtime.contexts["volunteers"].store.transaction() as session:
            stored = [tuple(row) for row in session.execute(select(access_log.table))]
        assert stored and not any("13611112222" in str(row) or "高血压" in str(row) for row in stored)
        # filtered by subject; other communities' staff see none of it, operators all, volunteers nothing
        only = await ok(await client.get(f"{API}/access-log", headers=STAFF_3502, params={"subject_id": elder["id"]}))
        assert {e["subject_id"] for e in only["items"]} == {elder["id"]}
        assert (await ok(await client.get(f"{API}/access-log", headers=STAFF_BZY)))["items"] == []
        assert len((await ok(await client.get(f"{API}/access-log", headers=OPERATOR)))["items"]) == len(entries)
        assert (await client.get(f"{API}/access-log", headers=WANG)).status_code == 403
        paged = await ok(await client.get(f"{API}/access-log", headers=OPERATOR, params={"limit": 1}))
        assert len(paged["items"]) == 1 and paged["next_cursor"]
        # a volunteer reading her own full phone is not logged
        before = len(entries)
        await ok(await client.get(f"{API}/volunteers/{ids['wang']}", headers=WANG))
        after = (await ok(await client.get(f"{API}/access-log", headers=token("operator:o", "operator"))))["items"]
        assert len(after) == before
