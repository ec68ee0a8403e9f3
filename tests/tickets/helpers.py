"""Helpers for the tickets tests: people, photos with EXIF, published events."""

from __future__ import annotations

import io
import json

import redis.asyncio as aredis
from PIL import Image

from shared.messaging.streams import StreamNames
from tests.conftest import token

RESIDENT = token("resident:zhang-xiaosen", "resident", name="张晓森")
NEIGHBOUR = token("resident:zhao-xiaotong", "resident", name="赵晓彤")
STAFF = token("staff:li-yao", "staff", name="李瑶")
VOLUNTEER = token("volunteer:zhang-xiuqin", "volunteer")

MANHOLE = {
    "category": "manhole",
    "title": "井盖松动",
    "description": "亚龙花园3号楼前井盖翘起，老人被绊倒",
    "community": "北翟营",
    "building": "3",
    "lat": 38.0532,
    "lon": 114.4485,
}


def jpeg_with_exif(color=(200, 30, 30), size=(40, 30)) -> bytes:
    """A JPEG carrying camera and GPS EXIF tags (what a phone photo has)."""
    img = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x0110] = "Phone X1"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (38.0, 3.0, 11.0), "E", (114.0, 26.0, 55.0)
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 128, 0)).save(out, "PNG")
    return out.getvalue()


async def published(settings, *, type_suffix: str | None = None) -> list[dict]:
    """CloudEvents the tickets service has published to its stream (optionally of one type)."""
    names = StreamNames(settings.stream_prefix)
    r = aredis.Redis.from_url(settings.redis_url)
    try:
        entries = await r.xrange(names.events("tickets"))
    finally:
        await r.aclose()
    events = [json.loads(fields[b"cloudevent"]) for _, fields in entries]
    if type_suffix:
        events = [e for e in events if e["type"].endswith(f".{type_suffix}.v1")]
    return events


async def report(client, body=None, headers=RESIDENT) -> dict:
    r = await client.post("/api/tickets/tickets", headers=headers, json=body or MANHOLE)
    assert r.status_code == 201, r.text
    return r.json()
