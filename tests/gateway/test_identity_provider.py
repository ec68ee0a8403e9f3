"""A service verifies tokens an identity provider signs: RS256 and EdDSA keys from its JWKS URL, ``iss``, ``aud``
and the leeway for its clock (issue #17: RS256 answered "Algorithm not supported" and a token with ``aud`` was
refused). The provider is a real HTTP server on this machine serving its JWKS; the service fetches it itself."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

ISSUER = "https://idp.linli.example/realms/sjz"
AUDIENCE = "linli-api"


@pytest.fixture
def provider():
    """An identity provider's JWKS (one RSA and one Ed25519 signing key) at a local URL."""
    keys = {
        "rsa-1": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ed-1": ed25519.Ed25519PrivateKey.generate(),
    }
    algorithm = {"rsa-1": "RS256", "ed-1": "EdDSA"}
    document = {
        "keys": [
            json.loads(jwt.algorithms.get_default_algorithms()[algorithm[kid]].to_jwk(key.public_key()))
            | {"kid": kid, "use": "sig", "alg": algorithm[kid]}
            for kid, key in keys.items()
        ]
    }

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def sign(kid: str, *, exp_in: float = 300, **claims) -> dict[str, str]:
        now = int(time.time())
        body = {"sub": "resident:zhang-xiaosen", "roles": ["resident"], "iss": ISSUER, "aud": AUDIENCE}
        body |= {"iat": now, "exp": now + int(exp_in), **claims}
        token = jwt.encode(body, keys[kid], algorithm=algorithm[kid], headers={"kid": kid})
        return {"Authorization": f"Bearer {token}"}

    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/protocol/openid-connect/certs", sign
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def idp_settings(provider, monkeypatch):
    """The process's settings pointing at the provider, as ``LINLI_JWKS_URL`` … in ``.env`` would."""
    from shared.config import get_settings

    idp = {"JWKS_URL": provider[0], "JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE, "JWT_LEEWAY_S": "30"}
    for name, value in idp.items():
        monkeypatch.setenv(f"LINLI_{name}", value)
    get_settings.cache_clear()
    yield provider
    monkeypatch.undo()
    get_settings.cache_clear()


async def test_rs256_and_eddsa_tokens_of_an_identity_provider_are_verified_by_its_jwks(start_runtime, idp_settings):
    _, sign = idp_settings
    async with start_runtime(["tickets"]) as (_, client):
        mine = "/api/tickets/tickets"
        for kid in ("rsa-1", "ed-1"):
            assert (await client.get(mine, headers=sign(kid))).status_code == 200, kid
        assert (await client.get(mine, headers=sign("rsa-1", exp_in=-10))).status_code == 200  # within the leeway
        refused = {
            "expired beyond the leeway": sign("rsa-1", exp_in=-120),
            "another audience": sign("rsa-1", aud="someone-else"),
            "no audience": sign("ed-1", aud=None),
            "another issuer": sign("ed-1", iss="https://evil.example"),
        }
        forged = jwt.encode(
            {"sub": "staff:mallory", "roles": ["staff"], "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60},
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            algorithm="RS256",
            headers={"kid": "rsa-1"},
        )
        refused["a forged signature with a known kid"] = {"Authorization": f"Bearer {forged}"}
        hs = jwt.encode({"sub": "x", "exp": int(time.time()) + 60, "iss": ISSUER, "aud": AUDIENCE}, "s" * 32, "HS256")
        refused["a shared-secret token"] = {"Authorization": f"Bearer {hs}"}
        for why, headers in refused.items():
            r = await client.get(mine, headers=headers)
            assert r.status_code == 401, why
            assert r.headers["content-type"].startswith("application/problem+json"), why
