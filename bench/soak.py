"""Soak: ``linli run`` (every service, one process) under 10 minutes of mixed traffic; does its memory grow?

``python -m bench --only soak`` (``make soak``; ``--quick``: 3 minutes). The demo communities are loaded, then
the load generator (this process, asyncio + httpx) sends an open-loop mix at ``RATE`` requests/s:

- residents file reports (some with an ``Idempotency-Key``, a few retried with the same key) and list theirs,
  read one ticket, their inbox and its unread count; staff list their communities' open reports;
- server-sent event streams (``/api/notify/inbox/stream``) are opened, read for up to a second and closed,
  some dropped before the first byte;
- bad input: malformed and mistyped JSON, JSON nested 40 deep, a 1.1 MB JSON body, a multipart "photo" that
  is not an image, a bad token, a bad cursor, an unknown path.

The server's RSS (``VmRSS``) is sampled every minute. The goal (issue #22, goal 3): every sample after the
first minute stays within 1.2x of the first minute's. 5xx answers and transport errors are counted (the details
of the figure); a soak with any 5xx is marked failed whatever the memory did. A request due while ``MAX_IN_FLIGHT``
are unanswered is not sent (counted as ``not_sent_in_flight_limit``): the server is then that far behind.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter

import httpx

from bench.common import Figure, drop_keys, linli_server, log, new_prefix, rss_mb, temp_dir
from bench.latency import TICKET

SECTION = "10 soak"
RATE = 40.0  # requests/s, streams not counted: below what one process answers on a loaded 2-core machine
MAX_IN_FLIGHT = 64
STREAMS = 4  # stream clients opening and closing streams in a loop
GROWTH_GOAL = 1.2
DEEP = ("[" * 40 + "]" * 40).encode()


class Traffic:
    """The mix of requests against one server, with what came back."""

    def __init__(self, port: int, tokens: list[str], staff: str, rng: random.Random) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.tokens, self.staff, self.rng = tokens, staff, rng
        self.statuses: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.tickets: list[str] = []
        self.keys: list[tuple[str, str]] = []  # (idempotency key, token) of keyed creates, for retries
        self.streams = 0
        self.skipped = 0  # due while MAX_IN_FLIGHT requests were still unanswered

    def _auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.rng.choice(self.tokens)}"}

    async def one(self, client: httpx.AsyncClient) -> None:
        """One request of the mix (weights: mostly reads and creates, about 1 in 6 bad)."""
        kind = self.rng.choices(
            ["create", "create_keyed", "retry", "list", "staff_list", "ticket", "inbox", "unread", "bad"],
            [18, 5, 2, 20, 6, 8, 12, 8, 21],
        )[0]
        self.kinds[kind] += 1
        try:
            response = await self._send(client, kind)
        except httpx.HTTPError as exc:
            self.errors[type(exc).__name__] += 1
            return
        self.statuses[str(response.status_code)] += 1
        if kind in ("create", "create_keyed") and response.status_code == 201:
            self.tickets.append(response.json()["id"])
            del self.tickets[:-500]

    async def _send(self, client: httpx.AsyncClient, kind: str) -> httpx.Response:
        url = f"{self.base}/api/tickets/tickets"
        if kind == "create":
            return await client.post(url, json=TICKET, headers=self._auth())
        if kind == "create_keyed":
            key, token = uuid.uuid4().hex, self.rng.choice(self.tokens)
            self.keys.append((key, token))
            del self.keys[:-200]
            return await client.post(url, json=TICKET, headers={**self._auth(token), "Idempotency-Key": key})
        if kind == "retry" and self.keys:
            key, token = self.rng.choice(self.keys)
            return await client.post(url, json=TICKET, headers={**self._auth(token), "Idempotency-Key": key})
        if kind == "staff_list":
            return await client.get(url, params={"status": "open", "limit": 20}, headers=self._auth(self.staff))
        if kind == "ticket" and self.tickets:
            return await client.get(f"{url}/{self.rng.choice(self.tickets)}", headers=self._auth())
        if kind == "inbox":
            return await client.get(f"{self.base}/api/notify/inbox", headers=self._auth())
        if kind == "unread":
            return await client.get(f"{self.base}/api/notify/inbox/unread-count", headers=self._auth())
        if kind == "bad":
            return await self._bad(client, url)
        return await client.get(url, params={"limit": 20}, headers=self._auth())

    async def _bad(self, client: httpx.AsyncClient, url: str) -> httpx.Response:
        json_type = {"Content-Type": "application/json"}
        which = self.rng.randrange(8)
        if which == 0:
            cut = b'{"category": "manhole", "title":'
            return await client.post(url, content=cut, headers={**self._auth(), **json_type})
        if which == 1:
            body = {**TICKET, "title": ["not", "a", "title"], "lat": "north"}
            return await client.post(url, json=body, headers=self._auth())
        if which == 2:
            return await client.post(url, content=DEEP, headers={**self._auth(), **json_type})
        if which == 3:
            big = json.dumps({**TICKET, "description": "井" * 380_000}, ensure_ascii=False).encode()  # ~1.1 MB
            return await client.post(url, content=big, headers={**self._auth(), **json_type})
        if which == 4:
            files = {"photo": ("manhole.jpg", b"\xff\xd8\xff not a jpeg " * 2000, "image/jpeg")}
            fields = {k: str(v) for k, v in TICKET.items()}
            return await client.post(url, data=fields, files=files, headers=self._auth())
        if which == 5:
            return await client.get(url, headers={"Authorization": "Bearer not.a.token"})
        if which == 6:
            return await client.get(url, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=self._auth())
        return await client.get(f"{self.base}/api/tickets/nowhere/{uuid.uuid4().hex}", headers=self._auth())

    async def stream_loop(self, client: httpx.AsyncClient, until: float) -> None:
        """Open a resident's inbox stream, read for up to a second (or drop it at once), close it; again."""
        while time.monotonic() < until:
            token = self.rng.choice(self.tokens)
            try:
                async with client.stream(
                    "GET", f"{self.base}/api/notify/inbox/stream", params={"access_token": token}
                ) as response:
                    self.streams += 1
                    if self.rng.random() < 0.7:
                        try:
                            async with asyncio.timeout(self.rng.uniform(0.2, 1.0)):
                                async for _ in response.aiter_bytes():
                                    pass
                        except TimeoutError:
                            pass
            except httpx.HTTPError as exc:
                self.errors[f"stream {type(exc).__name__}"] += 1
            await asyncio.sleep(self.rng.uniform(0.05, 0.3))


async def drive(traffic: Traffic, pid: int, minutes: int, rate: float) -> list[float]:
    """Send the mix at ``rate`` for ``minutes``; RSS of ``pid`` sampled at the end of every minute."""
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT + STREAMS, max_keepalive_connections=32)
    samples: list[float] = []
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        start = time.monotonic()
        until = start + minutes * 60
        streams = [asyncio.create_task(traffic.stream_loop(client, until)) for _ in range(STREAMS)]
        in_flight: set[asyncio.Task[None]] = set()
        sent = 0
        next_sample = start + 60
        while (now := time.monotonic()) < until:
            if now >= next_sample:
                samples.append(rss_mb(pid))
                log(f"soak: minute {len(samples)}: RSS {samples[-1]:.0f} MB, {sum(traffic.kinds.values())} requests")
                next_sample += 60
            due = start + sent / rate
            if due > now:
                await asyncio.sleep(min(due - now, next_sample - now))
                continue
            if len(in_flight) < MAX_IN_FLIGHT:
                task = asyncio.create_task(traffic.one(client))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            else:
                traffic.skipped += 1  # the server is that far behind: this one is not sent (open loop)
            sent += 1
        await asyncio.gather(*in_flight, *streams)
        samples.append(rss_mb(pid))
    return samples


def soak_figure(samples: list[float], traffic: Traffic, minutes: int, rate: float, seconds: float) -> Figure:
    first, later = samples[0], samples[1:] or samples
    worst = max(later)
    fives = sum(n for status, n in traffic.statuses.items() if status.startswith("5"))
    fig = Figure(
        SECTION,
        f"linli run (all services): highest RSS after minute 1 of {minutes} min of mixed traffic at {rate:g} req/s",
        worst,
        "MB RSS",
        first,
        "RSS after minute 1",
        goal=f"≤ {GROWTH_GOAL:g}x, no 5xx",
        extra={
            "samples_mb": [round(s, 1) for s in samples],
            "final_mb": round(samples[-1], 1),
            "requests": dict(traffic.kinds),
            "statuses": dict(traffic.statuses),
            "errors": sum(traffic.errors.values()),  # transport errors (refused, reset, timed out)
            "error_kinds": dict(traffic.errors),
            "not_sent_in_flight_limit": traffic.skipped,
            "streams_opened": traffic.streams,
            "five_hundreds": fives,
            "seconds": round(seconds, 1),
        },
    )
    fig.passed = fig.ratio is not None and fig.ratio <= GROWTH_GOAL and fives == 0
    return fig


def measure(quick: bool, minutes: int | None = None, rate: float = RATE) -> list[Figure]:
    from bench.routes import load_demo
    from shared.web.auth import mint_token

    minutes = minutes or (3 if quick else 10)
    with temp_dir("soak") as tmp:
        prefix = new_prefix("s")
        load_demo(prefix, tmp)
        server = linli_server([], prefix, tmp)
        try:
            server.wait_ready(timeout=240)  # linli run may take minutes to start on a loaded machine
            tokens = [mint_token(f"resident:soak-{i}", ["resident"], name="张晓森") for i in range(100)]
            staff = mint_token("staff:li-yao", ["staff"], communities=["*"])
            traffic = Traffic(server.port, tokens, staff, random.Random(22))
            log(f"soak: {minutes} min at {rate:g} req/s, {STREAMS} stream clients, linli run pid {server.pid}")
            started = time.monotonic()
            samples = asyncio.run(drive(traffic, server.pid, minutes, rate))
            fig = soak_figure(samples, traffic, minutes, rate, time.monotonic() - started)
            log(f"soak: RSS by minute {fig.extra['samples_mb']} MB; statuses {fig.extra['statuses']}")
            return [fig]
        finally:
            server.stop()
            drop_keys(prefix)


def main() -> None:  # python -m bench.soak [minutes] [rate]: the figure alone, printed (no results written)
    import sys

    minutes = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else RATE
    fig = measure(False, minutes, rate)[0]
    print(json.dumps(fig.as_dict(), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
