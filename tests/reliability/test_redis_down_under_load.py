"""Redis stopped for 20 s under a steady load of writes: each write accepted or cleanly refused, every
accepted write's effect once after Redis returns, and the recovery time measured.

The private Redis keeps an AOF (``appendfsync always``, the production setting of docs/operations.md)
and is SIGKILLed, so what it acknowledged before the kill is still there when it starts again. The
writes go through the HTTP API at 10 a second: half of them carry an ``Idempotency-Key``, which needs
Redis (while it is down they answer 503 ``unavailable``, a clean refusal with no effect); the others
are accepted into the outbox and published by the relay once Redis is back.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

from tests.conftest import eventually, token
from tests.reliability.streams import tally
from tests.support import probe
from tests.support.redis_server import RedisServer

RESIDENT = token("resident:zhang-xiaosen", "resident")
OUTAGE_S = 20
RATE = 10  # writes a second
BEFORE_S, AFTER_S = 3, 3


async def test_redis_stopped_20_s_under_load_every_write_accepted_or_refused_and_applied_once(
    start_runtime, tmp_path, record
):
    server = RedisServer(tmp_path / "redis", extra_args=["--appendonly", "yes", "--appendfsync", "always"])
    server.start()
    outcomes: dict[str, str] = {}  # title -> "accepted" | "refused" | "unanswered"
    statuses: Counter[str] = Counter()
    try:
        async with start_runtime([probe.module], redis_url=server.url) as (runtime, client):

            async def write(n: int, phase: str) -> None:
                title = f"{phase}-{n}"
                headers = dict(RESIDENT)
                if n % 2:
                    headers["Idempotency-Key"] = str(uuid.uuid4())
                try:
                    r = await client.post(
                        "/api/probe/report", headers=headers, json={"title": title, "ticket_id": title}
                    )
                except Exception as exc:  # the app raised after answering (Redis died mid-request)
                    outcomes[title] = "unanswered"
                    statuses[exc.__class__.__name__] += 1
                    return
                statuses[str(r.status_code)] += 1
                if r.status_code == 201:
                    outcomes[title] = "accepted"
                elif r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json"):
                    assert r.json()["code"] == "unavailable" and r.headers["Retry-After"]
                    outcomes[title] = "refused"
                else:
                    outcomes[title] = f"unexpected {r.status_code}"

            async def steady(seconds: float, phase: str) -> None:
                for n in range(int(seconds * RATE)):
                    began = time.monotonic()
                    await write(n, phase)
                    await asyncio.sleep(max(0.0, 1 / RATE - (time.monotonic() - began)))

            await steady(BEFORE_S, "before")
            server.stop()  # SIGKILL
            down_at = time.monotonic()
            await steady(OUTAGE_S, "down")
            server.start()
            up_at = time.monotonic()
            down_s = up_at - down_at
            held = {t for t, o in outcomes.items() if o == "accepted"}  # accepted before Redis returned

            async def recovered() -> float:
                await eventually(lambda: held <= {t for _, t in probe.effects(runtime)}, timeout=60, interval=0.05)
                return time.monotonic() - up_at

            recovery = asyncio.create_task(recovered())
            await steady(AFTER_S, "after")
            recovery_s = await recovery
            accepted = {t for t, o in outcomes.items() if o == "accepted"}
            await eventually(lambda: accepted <= {t for _, t in probe.effects(runtime)}, timeout=60, interval=0.05)
            applied = [t for _, t in probe.effects(runtime)]
            relay = runtime.relays["probe"]
            figures = record(
                {
                    "writes": len(outcomes),
                    "accepted": len(accepted),
                    "refused_503": sum(o == "refused" for o in outcomes.values()),
                    "unanswered": sum(o == "unanswered" for o in outcomes.values()),
                    "accepted_while_down": sum(1 for t in accepted if t.startswith("down-")),
                    "redis_down_s": round(down_s, 1),
                    **tally(applied, sorted(accepted)),
                    "recovery_s": round(recovery_s, 1),  # Redis back -> every write accepted so far applied
                    "relay_published": relay.published,
                    "statuses": dict(statuses),
                }
            )
    finally:
        server.stop()
    assert all(o in ("accepted", "refused", "unanswered") for o in outcomes.values()), outcomes
    assert figures["accepted_while_down"] > 0 and figures["refused_503"] > 0
    refused = {t for t, o in outcomes.items() if o == "refused"}
    assert not refused & set(applied)  # a refused write has no effect
    assert figures["duplicates"] == 0 and figures["losses"] == 0
    assert sorted(set(applied)) == sorted(applied)
