"""The register over HTTP: households by address, people with masked phones, moves, roles, erasure — and
the events other services read (never a phone)."""

from __future__ import annotations

import json

import redis

from services.accounts.domain.claims import Grant
from tests.accounts.conftest import bearer, grant, resident, sign_in
from tests.conftest import eventually


async def _staff(runtime, client, mailbox, community: str = "北翟营") -> dict:
    person_id, _ = resident(runtime, phone="13800001111", name="李瑶", room="101")
    grant(runtime, person_id, Grant("staff", community=community))
    return bearer(await sign_in(client, mailbox, "13800001111"))


def _events(redis_url: str, prefix: str) -> list[dict]:
    entries = redis.Redis.from_url(redis_url).xrange(f"{prefix}:accounts")
    return [json.loads(fields[b"cloudevent"]) for _, fields in entries]


async def test_staff_register_a_household_and_a_resident_whose_phone_is_only_shown_masked(
    served, mailbox, redis_url, prefix
):
    async with served(["accounts"]) as (runtime, client):
        staff = await _staff(runtime, client, mailbox)
        home = await client.post(
            "/api/accounts/households",
            headers=staff,
            json={"community": "北翟营", "estate": "亚龙花园", "building": "5", "unit": "2", "room": "301"},
        )
        assert home.status_code == 201, home.text
        again = await client.post(
            "/api/accounts/households",
            headers=staff,
            json={"community": "北翟营", "estate": "亚龙花园", "building": "5", "unit": "2", "room": "301"},
        )
        assert again.json()["id"] == home.json()["id"]
        added = await client.post(
            "/api/accounts/people",
            headers=staff,
            json={"name": "王大妈", "phone": "+86 137-0000-1234", "household_id": home.json()["id"]},
        )
        assert added.status_code == 201, added.text
        assert added.json()["phone_masked"] == "137****1234"
        assert "13700001234" not in added.text
        listed = await client.get(
            "/api/accounts/households", headers=staff, params={"community": "北翟营", "building": "5"}
        )
        assert [h["room"] for h in listed.json()["items"]] == ["301"]
        events = await eventually(lambda: [e for e in _events(redis_url, prefix) if e["subject"] == added.json()["id"]])
        assert events[0]["type"] == "cn.linli.accounts.PersonRegistered.v1"
        assert events[0]["data"]["building"] == "5" and events[0]["data"]["unit"] == "2"
        assert "1234" not in json.dumps(events[0])


async def test_staff_reach_only_the_communities_they_serve(served, mailbox):
    async with served(["accounts"]) as (runtime, client):
        ctx = runtime.contexts["accounts"]
        from services.accounts.demo import DEMO
        from services.accounts.service_layer import register

        with ctx.store.transaction() as s:
            register.add_community(ctx, s, DEMO, "3502", "3502社区", "桥西区")
        staff = await _staff(runtime, client, mailbox)
        elsewhere = await client.post(
            "/api/accounts/households",
            headers=staff,
            json={"community": "3502", "estate": "际华苑", "building": "5", "unit": "1", "room": "101"},
        )
        assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "out_of_scope"
        people = await client.get("/api/accounts/people", headers=staff, params={"community": "3502"})
        assert people.status_code == 403


async def test_a_move_a_role_and_leaving_are_events_and_change_the_next_token(served, mailbox, redis_url, prefix):
    async with served(["accounts"]) as (runtime, client):
        staff = await _staff(runtime, client, mailbox)
        person_id, _ = resident(runtime, phone="13912345678", room="201")
        home = await client.post(
            "/api/accounts/households",
            headers=staff,
            json={"community": "北翟营", "estate": "北翟营村", "building": "12", "unit": "1", "room": "1"},
        )
        moved = await client.post(
            f"/api/accounts/people/{person_id}/move", headers=staff, json={"household_id": home.json()["id"]}
        )
        assert moved.json()["household"]["estate"] == "北翟营村"
        granted = await client.post(
            f"/api/accounts/people/{person_id}/roles", headers=staff, json={"role": "volunteer", "community": "北翟营"}
        )
        assert granted.status_code == 201, granted.text
        tokens = await sign_in(client, mailbox, "13912345678")
        from shared.web.auth import decode_token

        principal = decode_token(tokens["access_token"])
        assert principal.roles == {"resident", "volunteer"} and principal.household == home.json()["id"]
        left = await client.post(f"/api/accounts/people/{person_id}/leave", headers=staff)
        assert left.json()["household"] is None and left.json()["left_at"]
        refused = await client.post("/api/accounts/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refused.status_code == 401

        def kinds() -> list[str]:
            return [e["type"].split(".")[3] for e in _events(redis_url, prefix) if e["subject"] == person_id]

        types = await eventually(lambda: len(kinds()) >= 4 and kinds())
        assert types == ["PersonRegistered", "HouseholdMoved", "RoleGranted", "HouseholdMoved"]


async def test_erasure_removes_personal_data_and_emits_resident_erased(served, mailbox, redis_url, prefix):
    async with served(["accounts"]) as (runtime, client):
        staff = await _staff(runtime, client, mailbox)
        person_id, _ = resident(runtime, phone="13912345678", room="201")
        erased = await client.post(f"/api/accounts/people/{person_id}/erase", headers=staff)
        assert erased.status_code == 200
        assert erased.json()["erased"] and erased.json()["phone_masked"] is None and erased.json()["household"] is None
        assert (await client.get(f"/api/accounts/people/{person_id}", headers=staff)).status_code == 404
        found = await eventually(
            lambda: [e for e in _events(redis_url, prefix) if e["type"].endswith("ResidentErased.v1")]
        )
        assert found[0]["data"]["person_id"] == person_id
        # the number can be registered again, and no code reaches an erased person
        await client.post("/api/accounts/auth/code", json={"phone": "13912345678"})
        assert not mailbox.to("13912345678@sms.linli.test")


async def test_only_operators_choose_a_sub_that_other_services_know(served, mailbox):
    async with served(["accounts"]) as (runtime, client):
        staff = await _staff(runtime, client, mailbox)
        _, home = resident(runtime, phone="13912345678", room="201")
        taken = await client.post(
            "/api/accounts/people",
            headers=staff,
            json={"name": "冒充", "household_id": home, "sub": "staff:wang-jianguo"},
        )
        assert taken.status_code == 403 and taken.json()["code"] == "operators_only"
