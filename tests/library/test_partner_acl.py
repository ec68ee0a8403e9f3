"""The shipped Redis ACL file confines each partner to XADD on its own ingress stream (private redis-server)."""

import json
import uuid
from pathlib import Path

import pytest
import redis

from tests.conftest import eventually
from tests.library.conftest import CARD_A, STAFF, checkout, register
from tests.support.redis_server import RedisServer

ACL = Path(__file__).resolve().parents[2] / "deploy" / "redis" / "users.acl"
SERVICE = ("linli", "linli-dev")


class AclRedis(RedisServer):
    """A private redis-server loading users.acl (the default user is off, so readiness pings authenticate)."""

    def client(self, user: str | None, password: str | None) -> redis.Redis:
        return redis.Redis(port=self.port, username=user, password=password, socket_connect_timeout=1)


@pytest.fixture
def acl_redis(tmp_path):
    server = AclRedis(
        tmp_path / "acl-redis", extra_args=["--aclfile", str(ACL)], username=SERVICE[0], password=SERVICE[1]
    )
    server.start()
    yield server
    server.stop()


def partner(server: AclRedis, code: str) -> redis.Redis:
    return server.client(f"partner-{code}", f"partner-{code}-dev")


def test_partner_can_only_xadd_to_its_own_ingress(acl_redis):
    lib, yh = partner(acl_redis, "CN-SJZ-LIB"), partner(acl_redis, "CN-SJZ-YHLIB")
    service = acl_redis.client(*SERVICE)
    assert lib.xadd("linli:partner:CN-SJZ-LIB:in", {"cloudevent": "{}"})
    service.xadd("linli:partner:CN-SJZ-LIB:out", {"cloudevent": "{}"})
    service.xadd("linli:partner:CN-SJZ-YHLIB:out", {"cloudevent": "{}"})
    assert len(lib.xrange("linli:partner:CN-SJZ-LIB:out")) == 1  # its own egress: readable
    denied = [
        lambda: lib.xadd("linli:partner:CN-SJZ-YHLIB:in", {"cloudevent": "{}"}),  # another partner's ingress
        lambda: lib.xadd("linli:library", {"cloudevent": "{}"}),  # our event stream
        lambda: lib.xadd("linli:partner:CN-SJZ-LIB:out", {"cloudevent": "{}"}),  # its egress is read-only
        lambda: lib.xrange("linli:partner:CN-SJZ-YHLIB:out"),  # others' egress
        lambda: lib.xrange("linli:partner:CN-SJZ-YHLIB:in"),  # others' ingress
        lambda: lib.xrange("linli:partner:CN-SJZ-LIB:in"),  # even its own ingress
        lambda: lib.xrange("linli:dlq"),
        lambda: lib.get("anything"),
        lambda: lib.delete("linli:partner:CN-SJZ-LIB:in"),
        lambda: lib.keys("*"),
        lambda: yh.xadd("linli:partner:CN-SJZ-LIB:in", {"cloudevent": "{}"}),
    ]
    for attempt in denied:
        with pytest.raises(redis.exceptions.NoPermissionError):
            attempt()
    with pytest.raises(redis.exceptions.AuthenticationError):
        acl_redis.client("partner-CN-SJZ-LIB", "wrong-password").ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        acl_redis.client(None, None).xadd("linli:partner:CN-SJZ-LIB:in", {"cloudevent": "{}"})
    assert service.xlen("linli:partner:CN-SJZ-LIB:in") == 1


async def test_partner_user_return_reaches_the_service_through_acl_redis(acl_redis, start_runtime, clock, tmp_path):
    from tests.library.conftest import seed

    url = f"redis://linli:linli-dev@127.0.0.1:{acl_redis.port}/0"
    async with start_runtime(["library"], clock=clock, redis_url=url, stream_prefix="linli") as (_rt, client):
        await seed(client)
        reader = await register(client, CARD_A, "赵晓彤")
        await checkout(client, reader, "ZHC-4")
        doc = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "/partners/CN-SJZ-LIB",
            "type": "cn.linli.library.BookReturned.v1",
            "time": "2026-11-28T03:00:00Z",
            "data": {"barcode": "ZHC-4", "branch": "CN-SJZ-LIB", "returned_at": "2026-11-28T03:00:00Z"},
        }
        partner(acl_redis, "CN-SJZ-LIB").xadd("linli:partner:CN-SJZ-LIB:in", {"cloudevent": json.dumps(doc)})

        async def returned():
            r = await client.get(f"/api/library/readers/{reader}", headers=STAFF)
            return r.json()["loans"] == []

        await eventually(returned)
