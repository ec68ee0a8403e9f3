"""Shared steps of the volunteers tests: the 3502 team, people's tokens, reading published events."""

from __future__ import annotations

import json

import redis

from shared.messaging.streams import StreamNames
from tests.conftest import token

COMMUNITY = "3502"
STAFF = token("staff:li-yao", "staff", name="李瑶")
LEADER = token("volunteer:zhang-xiuqin", "volunteer", "team_leader", name="张秀芹")
WANG = token("volunteer:wang-guilan", "volunteer", name="王桂兰")
LIU = token("volunteer:liu-shufen", "volunteer", name="刘淑芬")
OTHER_LEADER = token("volunteer:sun-li", "volunteer", "team_leader", name="孙丽")
RESIDENT = token("resident:zhao-xiaotong", "resident")
API = "/api/volunteers"
CONSENT_PURPOSE = "爱心敲门走访照护 / care on visits"


async def ok(response, status: int = 200) -> dict | list:
    assert response.status_code == status, response.text
    return response.json()


async def setup_team(client) -> dict:
    """The 爱心敲门 team of 3502 with its leader 张秀芹 and two volunteers; returns volunteer ids."""
    await ok(
        await client.put(
            f"{API}/teams/axqm-3502",
            headers=STAFF,
            json={
                "name": "爱心敲门志愿服务队",
                "community": COMMUNITY,
                "leader": "volunteer:zhang-xiuqin",
                "staff_contact": "staff:li-yao",
            },
        )
    )
    ids = {}
    for key, sub, name, phone in (
        ("leader", "volunteer:zhang-xiuqin", "张秀芹", "13812345678"),
        ("wang", "volunteer:wang-guilan", "王桂兰", "13900001111"),
        ("liu", "volunteer:liu-shufen", "刘淑芬", "13700002222"),
    ):
        body = await ok(
            await client.post(
                f"{API}/volunteers",
                headers=STAFF,
                json={
                    "name": name,
                    "community": COMMUNITY,
                    "user_id": sub,
                    "phone": phone,
                    "skills": ["chat"],
                    "availability": [0, 2, 4],
                },
            ),
            201,
        )
        ids[key] = body["id"]
    return ids


async def add_volunteer(client, name: str, user_id: str, **extra) -> dict:
    """A volunteer of 3502 added by the team leader (``extra``: weekly_cap, phone …)."""
    return await ok(
        await client.post(
            f"{API}/volunteers",
            headers=LEADER,
            json={"name": name, "community": COMMUNITY, "user_id": user_id, **extra},
        ),
        201,
    )


async def register(
    client, name: str = "郝连芳", tier: str = "key", building: str = "3", unit: str = "2", **extra
) -> dict:
    return await ok(
        await client.post(
            f"{API}/elders",
            headers=STAFF,
            json={
                "name": name,
                "community": COMMUNITY,
                "building": building,
                "unit": unit,
                "floor": 1,
                "lives_alone": True,
                "birth_year": 1948,
                "conditions": "高血压，膝关节炎",
                "notes": "子女在外地",
                "emergency_name": "郝女士",
                "emergency_phone": "13611112222",
                "tier": tier,
                "tier_reason": "独居",
                "consent": {"given_by": name, "purpose": CONSENT_PURPOSE},
                **extra,
            },
        ),
        201,
    )


async def pair(client, elder_id: str, volunteer_id: str) -> dict:
    return await ok(
        await client.post(f"{API}/pairings", headers=LEADER, json={"elder_id": elder_id, "volunteer_id": volunteer_id}),
        201,
    )


async def paired_elder(client, name: str = "郝连芳", tier: str = "key") -> tuple[dict, dict]:
    """The 3502 team (``setup_team``) and an elder paired with 王桂兰: (volunteer ids, elder)."""
    ids = await setup_team(client)
    elder = await register(client, name, tier=tier)
    await pair(client, elder["id"], ids["wang"])
    return ids, elder


def published(settings, short_type: str | None = None) -> list[dict]:
    """CloudEvents on the volunteers stream in Redis (optionally only one type, e.g. ``VisitDue``)."""
    client = redis.Redis.from_url(settings.redis_url)
    try:
        entries = client.xrange(StreamNames(settings.stream_prefix).events("volunteers"))
    finally:
        client.close()
    events = [json.loads(fields[b"cloudevent"]) for _, fields in entries]
    if short_type:
        events = [e for e in events if e["type"] == f"cn.linli.volunteers.{short_type}.v1"]
    return events
