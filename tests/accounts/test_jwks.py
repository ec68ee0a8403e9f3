"""Services verify tokens only by accounts' JWKS: another key is refused, rotation keeps old tokens valid."""

from __future__ import annotations

import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.clock import utcnow
from tests.accounts.conftest import bearer, resident, sign_in
from tests.conftest import token


def _forged(kid: str) -> str:
    """A token with the right claims and a real kid, signed by a key accounts never had."""
    now = utcnow()
    claims = {"sub": "staff:mallory", "roles": ["staff", "operator"], "communities": ["*"], "iat": now}
    return jwt.encode(
        claims | {"exp": now + timedelta(minutes=5)},
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": kid},
    )


def _hs256(kid: str | None = None) -> str:
    """A token signed with the development secret services took before the JWKS (HS256)."""
    now = utcnow()
    claims = {"sub": "staff:mallory", "roles": ["staff"], "communities": ["*"], "iat": now}
    secret = "linli-dev-secret-change-me-0123456789abcdef"
    return jwt.encode(
        claims | {"exp": now + timedelta(minutes=5)}, secret, algorithm="HS256", headers={"kid": kid} if kid else None
    )


async def test_a_token_signed_by_another_key_or_the_dev_secret_is_refused(served, mailbox):
    async with served(["accounts", "tickets"]) as (runtime, client):
        resident(runtime)
        tokens = await sign_in(client, mailbox, "13912345678")
        kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
        for forged in (_forged(kid), _forged("k-unknown"), _hs256(), _hs256(kid)):
            answer = await client.get("/api/tickets/tickets", headers={"Authorization": f"Bearer {forged}"})
            assert answer.status_code == 401, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
        assert (await client.get("/api/tickets/tickets", headers=bearer(tokens))).status_code == 200


async def test_after_rotation_new_tokens_use_the_new_key_and_old_ones_stay_valid(served, mailbox):
    from services.accounts.service_layer import keys

    async with served(["accounts", "tickets"]) as (runtime, client):
        resident(runtime)
        resident(runtime, phone="13912345679", name="赵晓彤", room="202")
        before = await sign_in(client, mailbox, "13912345678")
        ctx = runtime.contexts["accounts"]
        with ctx.store.transaction() as s:
            keys.rotate(s, ctx.clock.now())
        after = await sign_in(client, mailbox, "13912345679")
        old_kid = jwt.get_unverified_header(before["access_token"])["kid"]
        new_kid = jwt.get_unverified_header(after["access_token"])["kid"]
        assert old_kid != new_kid
        published = (await client.get("/.well-known/jwks.json")).json()["keys"]
        assert {k["kid"] for k in published} >= {old_kid, new_kid}
        assert all("d" not in k for k in published)  # public halves only
        for tokens in (after, before):
            answer = await client.get("/api/tickets/tickets", headers=bearer(tokens))
            assert answer.status_code == 200, answer.text


async def test_iss_and_aud_are_checked_when_configured(served, mailbox, monkeypatch):
    from shared.config import get_settings

    async with served(["accounts", "tickets"]) as (runtime, client):
        resident(runtime)
        tokens = await sign_in(client, mailbox, "13912345678")
        assert jwt.decode(tokens["access_token"], options={"verify_signature": False})["aud"] == "linli"
        monkeypatch.setenv("LINLI_JWT_AUDIENCE", "someone-else")
        get_settings.cache_clear()
        refused = await client.get("/api/tickets/tickets", headers=bearer(tokens))
        assert refused.status_code == 401
        monkeypatch.setenv("LINLI_JWT_AUDIENCE", "linli")
        monkeypatch.setenv("LINLI_JWT_ISSUER", "linli-accounts")
        get_settings.cache_clear()
        assert (await client.get("/api/tickets/tickets", headers=bearer(tokens))).status_code == 200


async def test_the_jwks_document_names_each_key_for_verifiers(served):
    async with served(["accounts"]) as (_, client):
        answer = await client.get("/.well-known/jwks.json")
        assert answer.status_code == 200
        (key,) = answer.json()["keys"]
        assert {key["kty"], key["crv"], key["alg"], key["use"]} == {"OKP", "Ed25519", "EdDSA", "sig"}
        jwt.PyJWK(json.loads(answer.text)["keys"][0])  # a JWK a standard library loads


def test_production_refuses_the_development_secrets():
    from shared.config import Settings

    with pytest.raises(ValueError, match="LINLI_PII_KEY"):
        Settings(env="production")
    with pytest.raises(ValueError, match="LINLI_JWKS_URL"):
        Settings(env="production", pii_key="a-real-key-from-the-env-file")
    assert Settings(env="production", pii_key="a-real-key", jwks_url="http://accounts/.well-known/jwks.json")


async def test_a_service_without_accounts_verifies_by_the_key_file_jwks_and_refuses_the_rest(start_runtime):
    """A lone service (a test, or `linli run tickets` on a development machine) has no shared secret:
    it verifies by the public half of accounts' key file, what `token()` and `linli token` sign with."""
    async with start_runtime(["tickets"]) as (_, client):
        assert (await client.get("/api/tickets/tickets", headers=token("resident:x", "resident"))).status_code == 200
        kid = jwt.get_unverified_header(token("resident:x", "resident")["Authorization"][7:])["kid"]
        for forged in (_forged(kid), _hs256(), _hs256(kid)):
            answer = await client.get("/api/tickets/tickets", headers={"Authorization": f"Bearer {forged}"})
            assert answer.status_code == 401, answer.text


async def test_linli_token_signs_with_accounts_active_key_and_a_rotation_is_honoured_at_once(
    start_runtime, settings, monkeypatch
):
    """`linli token` on the machine that runs accounts signs with the key its store signs with now;
    the runtime's services (verifying by the in-process JWKS) accept it the moment the key rotates."""
    from typer.testing import CliRunner

    from host.cli import app
    from shared.config import get_settings

    monkeypatch.setenv("LINLI_VAR_DIR", str(settings.var_dir))
    get_settings.cache_clear()
    try:
        async with start_runtime(["accounts", "tickets"]) as (_, client):
            published = (await client.get("/.well-known/jwks.json")).json()["keys"]
            session_kid = jwt.get_unverified_header(token("resident:x", "resident")["Authorization"][7:])["kid"]
            assert [k["kid"] for k in published] == [session_kid]  # accounts adopted the key file's key
            assert (
                await client.get("/api/tickets/tickets", headers=token("resident:x", "resident"))
            ).status_code == 200
            rotated = await client.post("/api/accounts/keys/rotate", headers=token("operator:ops", "operator"))
            assert rotated.status_code == 201, rotated.text
            minted = CliRunner().invoke(app, ["token", "resident:zhang-xiaosen", "--role", "resident"])
            assert minted.exit_code == 0, minted.output
            fresh = minted.output.strip()
            assert jwt.get_unverified_header(fresh)["kid"] == rotated.json()["kid"] != session_kid
            answer = await client.get("/api/tickets/tickets", headers={"Authorization": f"Bearer {fresh}"})
            assert answer.status_code == 200, answer.text
            # the previous key's tokens stay valid until they expire
            assert (
                await client.get("/api/tickets/tickets", headers=token("resident:y", "resident"))
            ).status_code == 200
    finally:
        get_settings.cache_clear()
