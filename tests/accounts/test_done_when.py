"""Issue #16's "done when", over HTTP alone: the register filled through accounts' routes, a resident signs in
with phone + code (the code read from the mail the channel sent), uses the token on every service, five
wrong codes lock a phone, a signed-out refresh token stops at once."""

from __future__ import annotations

from tests.accounts.conftest import bearer, code_in, sign_in
from tests.conftest import token

OPERATOR = token("operator:ops", "operator")


async def _register(client, phone: str, room: str) -> None:
    community = {"code": "北翟营", "name": "北翟营社区", "district": "裕华区"}
    assert (await client.post("/api/accounts/communities", headers=OPERATOR, json=community)).status_code in (200, 201)
    address = {"community": "北翟营", "estate": "亚龙花园", "building": "3", "unit": "1", "room": room}
    home = await client.post("/api/accounts/households", headers=OPERATOR, json=address)
    assert home.status_code in (200, 201), home.text
    person = {"name": "张晓森", "phone": phone, "household_id": home.json()["id"]}
    made = await client.post("/api/accounts/people", headers=OPERATOR, json=person)
    assert made.status_code == 201, made.text


async def test_sign_in_use_every_service_lock_and_revoke_over_http(served, mailbox):
    everything = ["accounts", "tickets", "library", "volunteers", "notify", "activities"]
    async with served(everything) as (_, client):
        await _register(client, "13912340001", "201")
        tokens = await sign_in(client, mailbox, "13912340001")
        me = bearer(tokens)

        # the one token works on every service (each verifies it by accounts' JWKS)
        for path in (
            "/api/accounts/me",
            "/api/tickets/tickets",
            "/api/notify/inbox",
            "/api/activities/signups/mine",
        ):
            answer = await client.get(path, headers=me)
            assert answer.status_code == 200, (path, answer.text)
        reader = await client.get("/api/library/readers/me", headers=me)
        assert reader.status_code in (200, 404), reader.text  # signed in; not a reader (yet) is 404
        volunteers = await client.get("/api/volunteers/volunteers", headers=me)
        assert volunteers.status_code == 403, volunteers.text  # signed in, but not a volunteer's route
        assert (await client.get("/api/tickets/tickets")).status_code == 401

        # a refresh token that was signed out stops working at once
        rotated = await client.post("/api/accounts/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert rotated.status_code == 200, rotated.text
        fresh = rotated.json()["refresh_token"]
        out = await client.post("/api/accounts/auth/signout", json={"refresh_token": fresh})
        assert out.status_code in (200, 204), out.text
        refused = await client.post("/api/accounts/auth/refresh", json={"refresh_token": fresh})
        assert refused.status_code == 401, refused.text

        # five wrong codes lock the phone, even for the right code
        await _register(client, "13912340002", "202")
        phone = "13912340002"
        assert (await client.post("/api/accounts/auth/code", json={"phone": phone})).status_code == 202
        from tests.conftest import eventually

        await eventually(lambda: mailbox.to(f"{phone}@sms.linli.test"))
        right = code_in(mailbox, phone)
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        codes = []
        for _ in range(5):
            answer = await client.post("/api/accounts/auth/token", json={"phone": phone, "code": wrong})
            codes.append(answer.json()["code"])
        assert codes == ["wrong_code"] * 4 + ["phone_locked"], codes  # the fifth wrong code locks
        locked = await client.post("/api/accounts/auth/token", json={"phone": phone, "code": right})
        assert locked.status_code == 429 and locked.json()["code"] == "phone_locked", locked.text
        assert right not in locked.text
