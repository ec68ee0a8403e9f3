"""Library test fixtures: a running library service with two book houses, two partner desks and titles."""

from __future__ import annotations

import json

import pytest
import redis as sync_redis

from tests.conftest import token

OPERATOR = token("operator:wang", "operator")
STAFF = token("staff:li-yao", "staff", name="李瑶")
RESIDENT = token("resident:zhao-xiaotong", "resident", name="赵晓彤")
OTHER_RESIDENT = token("resident:zhang-xiaosen", "resident")

CARD_A = "11010519491231002X"  # GB 11643 sample number (valid check character)
CARD_B = "130102198507150010"
CARD_C = "13010520000101001X"

BRANCHES = {
    "CN-SJZ-YH-ZHC": ("智汇城漂流书屋", "LINLI", False),
    "CN-SJZ-YH-MZHY": ("明珠花苑漂流书屋", "LINLI", False),
    "CN-SJZ-YH-FLOAT": ("3502社区漂流书屋", "LINLI", True),
    "CN-SJZ-LIB": ("石家庄市图书馆", "CN-SJZ-LIB", False),
    "CN-SJZ-YHLIB": ("裕华区图书馆", "CN-SJZ-YHLIB", False),
}
TITLES = {"9787020002207": "红楼梦", "9787536692930": "三体", "9787506365437": "活着", "9787544253994": "百年孤独"}


async def seed(client) -> None:
    """Branches, titles and copies through the API (as staff would set them up)."""
    for code, (name, institution, floating) in BRANCHES.items():
        r = await client.put(
            f"/api/library/branches/{code}",
            headers=OPERATOR,
            json={"name": name, "institution": institution, "floating": floating},
        )
        assert r.status_code == 200, r.text
    for isbn, title in TITLES.items():
        r = await client.put("/api/library/titles", headers=STAFF, json={"isbn": isbn, "title": title})
        assert r.status_code == 200, r.text
    copies = [
        ("ZHC-1", "9787020002207", "CN-SJZ-YH-ZHC"),
        ("ZHC-2", "9787536692930", "CN-SJZ-YH-ZHC"),
        ("ZHC-3", "9787506365437", "CN-SJZ-YH-ZHC"),
        ("ZHC-4", "9787544253994", "CN-SJZ-YH-ZHC"),
        ("ZHC-5", "9787544253994", "CN-SJZ-YH-ZHC"),
        ("FLT-1", "9787506365437", "CN-SJZ-YH-FLOAT"),
        ("LIB-1", "9787544253994", "CN-SJZ-LIB"),
    ]
    for barcode, isbn, home in copies:
        r = await client.post(
            "/api/library/copies", headers=STAFF, json={"barcode": barcode, "isbn": isbn, "home_branch": home}
        )
        assert r.status_code == 201, r.text


async def register(client, card: str, name: str, user: str | None = None) -> str:
    r = await client.post("/api/library/readers", headers=STAFF, json={"id_number": card, "name": name, "user": user})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def checkout(client, reader_id: str, barcode: str, branch: str = "CN-SJZ-YH-ZHC"):
    return await client.post(
        "/api/library/checkout", headers=STAFF, json={"reader_id": reader_id, "barcode": barcode, "branch": branch}
    )


def events(redis_url: str, stream: str, event_type: str | None = None) -> list[dict]:
    """CloudEvents on a stream (optionally of one short type name, e.g. ``LoanOverdue``)."""
    client = sync_redis.Redis.from_url(redis_url)
    try:
        out = [json.loads(fields[b"cloudevent"]) for _, fields in client.xrange(stream)]
    finally:
        client.close()
    return [e for e in out if event_type is None or e["type"] == f"cn.linli.library.{event_type}.v1"]


@pytest.fixture
def lib(start_runtime, clock):
    """``async with lib() as (runtime, client)``: the library service, seeded."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def starter(**kw):
        async with start_runtime(["library"], clock=clock, **kw) as (runtime, client):
            await seed(client)
            yield runtime, client

    return starter
