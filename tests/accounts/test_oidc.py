"""Staff sign in through an external OpenID Connect provider (authorization code + PKCE), here a small real
provider on loopback that checks the PKCE verifier and signs ID tokens with its own RSA key."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.accounts.config import accounts_settings
from services.accounts.domain.claims import Grant
from services.accounts.service_layer import oidc
from tests.accounts.conftest import bearer, grant, resident

CLIENT = "linli-accounts"
REDIRECT = "https://linli.example/staff/callback"


class Provider:
    """Discovery, JWKS, an authorize endpoint that approves at once, and a token endpoint checking PKCE."""

    def __init__(self, subject: str = "li.yao") -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.subject = subject
        self.audience = CLIENT
        self.codes: dict[str, dict] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                if url.path == "/.well-known/openid-configuration":
                    return self._json(200, provider.metadata())
                if url.path == "/jwks":
                    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key()))
                    return self._json(200, {"keys": [jwk | {"kid": "idp-1", "alg": "RS256", "use": "sig"}]})
                if url.path == "/authorize":
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = query
                    self.send_response(302)
                    self.send_header(
                        "Location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                    )
                    self.end_headers()
                    return None
                return self._json(404, {})

            def do_POST(self):
                form = {
                    k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()
                }
                asked = provider.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
                if asked is None or asked["code_challenge"] != challenge or form.get("client_id") != CLIENT:
                    return self._json(400, {"error": "invalid_grant"})
                now = int(time.time())
                claims = {"iss": provider.issuer, "aud": provider.audience, "sub": provider.subject, "iat": now}
                claims |= {"exp": now + 300, "nonce": asked["nonce"]}
                token = jwt.encode(claims, provider.key, algorithm="RS256", headers={"kid": "idp-1"})
                return self._json(200, {"id_token": token, "token_type": "Bearer", "access_token": "x"})

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
        }


@pytest.fixture
def provider(monkeypatch):
    idp = Provider()
    monkeypatch.setenv("ACCOUNTS_OIDC_ISSUER", idp.issuer)
    monkeypatch.setenv("ACCOUNTS_OIDC_CLIENT_ID", CLIENT)
    monkeypatch.setenv("ACCOUNTS_OIDC_REDIRECT_URI", REDIRECT)
    accounts_settings.cache_clear()
    oidc._DISCOVERED.clear()
    yield idp
    idp.server.shutdown()
    accounts_settings.cache_clear()


async def _through_provider(client) -> dict:
    """Start, let the provider approve (a browser would follow the redirect), and return code and state."""
    started = (await client.post("/api/accounts/auth/oidc/start")).json()
    query = parse_qs(urlparse(started["authorization_url"]).query)
    assert query["code_challenge_method"] == ["S256"] and "code_verifier" not in query
    back = httpx.get(started["authorization_url"], follow_redirects=False)
    returned = {k: v[0] for k, v in parse_qs(urlparse(back.headers["location"]).query).items()}
    assert returned["state"] == started["state"]
    return returned


async def _link(runtime, client, mailbox):
    """李瑶 in the register, linked to ``li.yao`` at the provider by an operator (through the store here)."""
    person_id, _ = resident(runtime, phone="13800001111", name="李瑶", room="101")
    grant(runtime, person_id, Grant("staff", community="北翟营"))
    ctx = runtime.contexts["accounts"]
    from services.accounts.service_layer import register

    with ctx.store.transaction() as s:
        register.link_oidc(s, register.person(s, person_id), "li.yao")
    return person_id


async def test_staff_sign_in_through_the_provider_and_use_accounts_tokens(served, mailbox, provider):
    async with served(["accounts", "tickets"]) as (runtime, client):
        await _link(runtime, client, mailbox)
        returned = await _through_provider(client)
        signed = await client.post("/api/accounts/auth/oidc/callback", json=returned)
        assert signed.status_code == 200, signed.text
        me = await client.get("/api/accounts/me", headers=bearer(signed.json()))
        assert me.json()["name"] == "李瑶" and me.json()["roles"][0]["role"] == "staff"
        assert (await client.get("/api/tickets/tickets", headers=bearer(signed.json()))).status_code == 200
        again = await client.post("/api/accounts/auth/oidc/callback", json=returned)  # a replayed state
        assert again.status_code == 401 and again.json()["code"] == "oidc_refused"


async def test_a_forged_verifier_another_audience_or_an_unlinked_identity_is_refused(served, mailbox, provider):
    async with served(["accounts"]) as (runtime, client):
        await _link(runtime, client, mailbox)
        # the code presented with another login's state: the verifier does not match the challenge
        first, second = await _through_provider(client), await _through_provider(client)
        crossed = await client.post(
            "/api/accounts/auth/oidc/callback", json={"code": first["code"], "state": second["state"]}
        )
        assert crossed.status_code == 401
        provider.audience = "someone-else"
        wrong_aud = await client.post("/api/accounts/auth/oidc/callback", json=await _through_provider(client))
        assert wrong_aud.status_code == 401
        provider.audience, provider.subject = CLIENT, "stranger"
        unlinked = await client.post("/api/accounts/auth/oidc/callback", json=await _through_provider(client))
        assert unlinked.status_code == 401 and "not linked" in unlinked.json()["detail"]
