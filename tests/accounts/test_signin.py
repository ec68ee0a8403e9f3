"""Signing in by phone and code over HTTP alone, and using the token on another service."""

from __future__ import annotations

import pytest

from services.accounts.demo import DEMO
from services.accounts.domain.claims import Grant
from services.accounts.service_layer import register
from tests.accounts.conftest import bearer, code_in, grant, resident, sign_in
from tests.conftest import eventually


async def test_a_resident_signs_in_by_phone_and_code_and_uses_the_token_on_tickets(served, mailbox):
    async with served(["accounts", "tickets"]) as (runtime, client):
        person_id, household_id = resident(runtime)
        tokens = await sign_in(client, mailbox, "139 1234 5678")

        me = await client.get("/api/accounts/me", headers=bearer(tokens))
        assert me.status_code == 200, me.text
        assert me.json()["sub"] == f"person:{person_id}"
        assert me.json()["phone_masked"] == "139****5678"
        assert me.json()["household"]["building"] == "3"
        # another service takes the same token, verified by the JWKS over HTTP
        mine = await client.get("/api/tickets/tickets", headers=bearer(tokens))
        assert mine.status_code == 200, mine.text
        # and the token's scopes are those shared.identity reads
        from shared.web.auth import decode_token

        principal = decode_token(tokens["access_token"])
        assert principal.roles == {"resident"}
        assert principal.household == household_id and principal.communities == {"北翟营"}


async def test_the_code_is_in_no_answer_event_stream_or_log(served, mailbox, redis_url, prefix, caplog):
    import logging

    import redis

    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="apprise")  # its own level may be left raised by an earlier test

    async with served(["accounts"]) as (runtime, client):
        resident(runtime)
        asked = await client.post("/api/accounts/auth/code", json={"phone": "13912345678"})
        await eventually(lambda: mailbox.to("13912345678@sms.linli.test"))
        code = code_in(mailbox, "13912345678")
        assert code not in asked.text
        await eventually(lambda: redis.Redis.from_url(redis_url).xlen(f"{prefix}:accounts") >= 1)
        for _, fields in redis.Redis.from_url(redis_url).xrange(f"{prefix}:accounts"):
            entry = str(fields)
            assert code not in entry and "13912345678" not in entry and "5678" not in entry
        ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail"))  # not the receiver
        assert "apprise" in {r.name for r in caplog.records}
        assert code not in ours and "13912345678" not in ours


async def test_a_number_not_in_the_register_gets_the_same_answer_and_no_code(served, mailbox):
    async with served(["accounts"]) as (runtime, client):
        resident(runtime)
        unknown = await client.post("/api/accounts/auth/code", json={"phone": "13700000000"})
        known = await client.post("/api/accounts/auth/code", json={"phone": "13912345678"})
        assert unknown.status_code == known.status_code == 202
        assert unknown.json()["message"] == known.json()["message"]
        await eventually(lambda: mailbox.to("13912345678@sms.linli.test"))
        assert not mailbox.to("13700000000@sms.linli.test")


async def test_five_wrong_codes_lock_the_phone_even_for_the_right_code(served, mailbox):
    async with served(["accounts"]) as (runtime, client):
        resident(runtime)
        await client.post("/api/accounts/auth/code", json={"phone": "13912345678"})
        await eventually(lambda: mailbox.to("13912345678@sms.linli.test"))
        right = code_in(mailbox, "13912345678")
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        answers = [
            await client.post("/api/accounts/auth/token", json={"phone": "13912345678", "code": wrong})
            for _ in range(5)
        ]
        assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
        assert answers[-1].json()["code"] == "phone_locked"
        locked = await client.post("/api/accounts/auth/token", json={"phone": "13912345678", "code": right})
        assert locked.status_code == 429 and locked.json()["code"] == "phone_locked"
        again = await client.post("/api/accounts/auth/code", json={"phone": "13912345678"})
        assert again.status_code == 429


async def test_codes_are_rate_limited_per_phone_and_per_client_address(served, mailbox, monkeypatch):
    async with served(["accounts"]) as (runtime, client):
        resident(runtime)
        first = await client.post("/api/accounts/auth/code", json={"phone": "13912345678"})
        second = await client.post("/api/accounts/auth/code", json={"phone": "13912345678"})
        assert first.status_code == 202
        assert second.status_code == 429 and second.json()["code"] == "code_too_soon"
        statuses = [
            (await client.post("/api/accounts/auth/code", json={"phone": f"137{n:08d}"})).status_code for n in range(30)
        ]
        assert statuses.count(202) == 29 and statuses[-1] == 429  # 30 an hour from one address


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_session(served, mailbox):
    async with served(["accounts"]) as (runtime, client):
        resident(runtime)
        tokens = await sign_in(client, mailbox, "13912345678")
        renewed = await client.post("/api/accounts/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert renewed.status_code == 200
        assert renewed.json()["refresh_token"] != tokens["refresh_token"]
        # the spent token presented again (a copy): refused, and the whole session revoked
        reused = await client.post("/api/accounts/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert reused.status_code == 401 and reused.json()["code"] == "refresh_reused"
        newest = await client.post(
            "/api/accounts/auth/refresh", json={"refresh_token": renewed.json()["refresh_token"]}
        )
        assert newest.status_code == 401
        sessions = await client.get("/api/accounts/me/sessions", headers=bearer(renewed.json()))
        assert sessions.json()["items"][0]["revoked_reason"] == "reuse"


async def test_sessions_are_listed_and_a_revoked_one_stops_refreshing_at_once(served, mailbox):
    async with served(["accounts"]) as (runtime, client):
        resident(runtime)
        phone_a = await sign_in(client, mailbox, "13912345678")
        listed = await client.get("/api/accounts/me/sessions", headers=bearer(phone_a))
        assert [s["id"] for s in listed.json()["items"]] == [phone_a["session_id"]]
        ended = await client.delete(f"/api/accounts/me/sessions/{phone_a['session_id']}", headers=bearer(phone_a))
        assert ended.status_code == 200 and ended.json()["revoked_at"]
        refused = await client.post("/api/accounts/auth/refresh", json={"refresh_token": phone_a["refresh_token"]})
        assert refused.status_code == 401


async def test_sign_out_ends_the_session(served, mailbox):
    async with served(["accounts"]) as (runtime, client):
        resident(runtime)
        tokens = await sign_in(client, mailbox, "13912345678")
        out = await client.post("/api/accounts/auth/signout", json={"refresh_token": tokens["refresh_token"]})
        assert out.json() == {"signed_out": True}
        refused = await client.post("/api/accounts/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refused.status_code == 401


async def test_on_a_development_machine_last_code_shows_the_code_and_nothing_else_does(served, mailbox, settings):
    import os
    import subprocess
    import sys

    from tests.support.processes import REPO

    async with served(["accounts"]) as (runtime, client):
        resident(runtime)
        await client.post("/api/accounts/auth/code", json={"phone": "13912345678"})
        await eventually(lambda: mailbox.to("13912345678@sms.linli.test"))
        env = {**os.environ, "LINLI_VAR_DIR": str(settings.var_dir)}
        shown = subprocess.run(
            [sys.executable, "-m", "host.cli", "accounts", "last-code", "139-1234-5678"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert shown.stdout.strip() == code_in(mailbox, "13912345678")
        folder = settings.var_dir / "accounts-codes"
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
        assert all(oct(f.stat().st_mode & 0o777) == "0o600" and "13912345678" not in f.name for f in folder.iterdir())
        refused = subprocess.run(
            [sys.executable, "-m", "host.cli", "accounts", "last-code", "13912345678"],
            cwd=REPO,
            env=env | {"LINLI_ENV": "production", "LINLI_PII_KEY": "k" * 32, "LINLI_JWKS_URL": "http://x/"},
            capture_output=True,
            text=True,
        )
        assert refused.returncode == 2 and not refused.stdout


async def test_signing_in_and_refreshing_on_postgresql(served, mailbox, pg_database, monkeypatch):
    monkeypatch.setenv("ACCOUNTS_DATABASE_URL", pg_database("accounts"))
    async with served(["accounts", "tickets"]) as (runtime, client):
        assert runtime.contexts["accounts"].store.engine.dialect.name == "postgresql"
        resident(runtime)
        tokens = await sign_in(client, mailbox, "13912345678")
        assert (await client.get("/api/tickets/tickets", headers=bearer(tokens))).status_code == 200
        renewed = await client.post("/api/accounts/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert renewed.status_code == 200
        reused = await client.post("/api/accounts/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert reused.json()["code"] == "refresh_reused"


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
async def test_a_code_signs_in_once_with_the_grants_and_session_as_stored(served, mailbox, store, request, monkeypatch):
    """The sign-in's reads and writes (code, person, grants, key, session, refresh token) on both stores."""
    from shared.web.auth import decode_token

    if store == "postgresql":
        monkeypatch.setenv("ACCOUNTS_DATABASE_URL", request.getfixturevalue("pg_database")("accounts"))
    async with served(["accounts"]) as (runtime, client):
        assert runtime.contexts["accounts"].store.engine.dialect.name == store
        person_id, household_id = resident(runtime)
        grant(runtime, person_id, Grant("volunteer", community="北翟营"))
        await client.post("/api/accounts/auth/code", json={"phone": "13912345678"})
        await eventually(lambda: mailbox.to("13912345678@sms.linli.test"))
        code = code_in(mailbox, "13912345678")
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        missed = await client.post("/api/accounts/auth/token", json={"phone": "13912345678", "code": wrong})
        assert missed.status_code == 401 and missed.json()["code"] == "wrong_code"

        signed = await client.post("/api/accounts/auth/token", json={"phone": "139 1234 5678", "code": code})
        assert signed.status_code == 200, signed.text
        tokens = signed.json()
        principal = decode_token(tokens["access_token"])
        assert principal.sub == f"person:{person_id}" and principal.household == household_id
        assert principal.roles == {"resident", "volunteer"} and principal.communities == {"北翟营"}
        # the same code again: spent, whatever the phone's spelling
        again = await client.post("/api/accounts/auth/token", json={"phone": "13912345678", "code": code})
        assert again.status_code == 401 and again.json()["code"] == "wrong_code"

        listed = await client.get("/api/accounts/me/sessions", headers=bearer(tokens))
        (session,) = listed.json()["items"]
        assert session["id"] == tokens["session_id"] and session["revoked_at"] is None
        renewed = await client.post("/api/accounts/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert renewed.status_code == 200 and renewed.json()["session_id"] == tokens["session_id"]
        assert decode_token(renewed.json()["access_token"]).roles == {"resident", "volunteer"}


async def test_a_person_who_left_the_register_cannot_sign_in_with_a_code_sent_before(served, mailbox):
    async with served(["accounts"]) as (runtime, client):
        person_id, _ = resident(runtime)
        await client.post("/api/accounts/auth/code", json={"phone": "13912345678"})
        await eventually(lambda: mailbox.to("13912345678@sms.linli.test"))
        ctx = runtime.contexts["accounts"]
        with ctx.store.transaction() as s:
            register.leave(ctx, s, DEMO, person_id)
        code = code_in(mailbox, "13912345678")
        refused = await client.post("/api/accounts/auth/token", json={"phone": "13912345678", "code": code})
        assert refused.status_code == 401 and refused.json()["code"] == "wrong_code"
