"""Activities test fixtures: 智汇城's children's room and helpers to publish and sign up."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis as sync_redis

from tests.conftest import token

STAFF = token("staff:li-yao", "staff", name="李瑶", community="智汇城")
OTHER_STAFF = token("staff:ma-jun", "staff", community="明珠花苑")
MOTHER = token("resident:zhao-xiaotong", "resident", household="H-ZHC-1-101", community="智汇城")
NEIGHBOUR = token("resident:zhang-xiaosen", "resident", household="H-ZHC-2-202", community="智汇城")
ORGANISER = token("volunteer:zhc-jianzhi", "volunteer")


def resident(n: int) -> dict[str, str]:
    """The n-th resident of a household of their own."""
    return token(f"resident:r{n}", "resident", household=f"H-{n}", community="智汇城")


def events(redis_url: str, stream: str, event_type: str | None = None) -> list[dict]:
    """CloudEvents on the activities stream (optionally of one short type name, e.g. ``SpotOffered``)."""
    client = sync_redis.Redis.from_url(redis_url)
    try:
        out = [json.loads(fields[b"cloudevent"]) for _, fields in client.xrange(stream)]
    finally:
        client.close()
    return [e for e in out if event_type is None or e["type"] == f"cn.linli.activities.{event_type}.v1"]


async def room(client, **changes) -> str:
    """The children's room, open Monday to Saturday 08:30-20:30; returns its id."""
    body = {"community": "智汇城", "name": "儿童活动室", "capacity": 20, "location": "4楼 401", **changes}
    r = await client.post("/api/activities/venues", headers=STAFF, json=body)
    assert r.status_code == 201, r.text
    venue = r.json()["id"]
    hours = [{"weekday": d, "opens": "08:30", "closes": "20:30"} for d in range(6)]
    r = await client.put(f"/api/activities/venues/{venue}/hours", headers=STAFF, json={"rules": hours})
    assert r.status_code == 200, r.text
    return venue


async def publish(client, venue: str, clock, *, days: float = 3, **changes) -> dict:
    """A workshop ``days`` from now (at 10:00 Asia/Shanghai when the test clock starts at 10:00)."""
    starts = (clock.now() + timedelta(days=days)).isoformat()
    body = {"venue_id": venue, "title": "剪纸", "starts_at": starts, "minutes": 90, "capacity": 10, **changes}
    r = await client.post("/api/activities/activities", headers=STAFF, json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def sign_up(client, activity: str, who: dict[str, str], **body):
    return await client.post(f"/api/activities/activities/{activity}/signups", headers=who, json=body)


@pytest.fixture
def stream(settings) -> str:
    return f"{settings.stream_prefix}:activities"
