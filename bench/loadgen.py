"""The load generator, run in its own process: ``python -m bench.loadgen`` reads a JSON spec on stdin, prints JSON.

It speaks raw HTTP/1.1 with keep-alive over asyncio streams (an HTTP client library would cost
more CPU than the server under test on two cores). Modes:

* ``closed``: ``concurrency`` connections send requests back to back for ``seconds``; reports req/s.
* ``open``: requests are due at a fixed ``rate`` whatever the answers (open loop, up to 512
  connections); reports each request's wall-clock due time, status, created id and answer time.
* ``faststream``: the baseline round trip, a FastStream publish at ``rate`` to a consumer-group
  subscriber in this process; reports each publish-to-handler latency.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time


def build(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    if body or method in ("POST", "PUT"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value:
                chunked = True
        if chunked:
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                body += await self.reader.readexactly(size + 2)
                if size == 0:
                    break
            return status, body
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def closed(port: int, requests: list[str], concurrency: int, seconds: float) -> dict:
    """Back-to-back requests on ``concurrency`` connections, cycling through ``requests``."""
    raws = itertools.cycle([r.encode("latin-1") for r in requests])
    done = errors = 0
    statuses: dict[int, int] = {}
    end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done, errors
        conn = await Conn.open(port)
        while time.perf_counter() < end:
            status, _ = await conn.send(next(raws))
            statuses[status] = statuses.get(status, 0) + 1
            done += 1
            errors += status >= 400
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"requests": done, "errors": errors, "seconds": elapsed, "rps": done / elapsed, "statuses": statuses}


def _ident(status: int, body: bytes) -> str:
    """The created resource's id (a 2xx JSON object's ``id``), else the start of the answer."""
    if 200 <= status < 300:
        try:
            return str(json.loads(body).get("id"))
        except (ValueError, AttributeError):
            pass
    return body[:200].decode("utf-8", "replace")


async def open_loop(port: int, requests: list[str], rate: float, seconds: float, max_conns: int = 512) -> dict:
    """Request ``i`` is due at ``t0 + i/rate`` whatever the earlier answers (open loop).

    Idle connections are reused and new ones opened while fewer than ``max_conns`` exist; past that a
    request waits for a connection. Each result carries the wall-clock time the request was *due*, so
    time spent queued (in the server or here) counts in its latency (no coordinated omission).
    """
    idle: list[Conn] = []
    opened = 0
    free = asyncio.Condition()
    results: list[tuple[float, int, str]] = []
    total = int(rate * seconds)
    late = 0

    async def take() -> Conn:
        nonlocal opened
        async with free:
            while not idle and opened >= max_conns:
                await free.wait()
            if idle:
                return idle.pop()
            opened += 1
        return await Conn.open(port)

    async def one(raw: bytes, due: float) -> None:
        conn = await take()
        try:
            try:
                status, body = await conn.send(raw)
            except (ConnectionError, asyncio.IncompleteReadError):  # the server closed an idle keep-alive
                conn.close()
                conn = await Conn.open(port)
                status, body = await conn.send(raw)
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
            results.append((due, 0, f"{exc.__class__.__name__}: {exc}", time.time()))
            conn = await Conn.open(port)
        else:
            results.append((due, status, _ident(status, body), time.time()))
        async with free:
            idle.append(conn)
            free.notify()

    start = time.perf_counter()
    wall0 = time.time()
    tasks = []
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            late += 1
        tasks.append(asyncio.create_task(one(requests[i % len(requests)].encode("latin-1"), wall0 + i / rate)))
    await asyncio.gather(*tasks)
    for conn in idle:
        conn.close()
    return {"results": results, "late_starts": late, "connections": opened, "seconds": time.perf_counter() - start}


async def faststream_rtt(redis_url: str, key: str, rate: float, seconds: float) -> dict:
    """Publish ``{"t": wall time}`` at ``rate`` to ``key``; a group subscriber records now - t."""
    from faststream.redis import RedisBroker, StreamSub

    broker = RedisBroker(redis_url, logger=None)
    latencies: list[float] = []

    @broker.subscriber(stream=StreamSub(key, group="rtt", consumer="c1"))
    async def handle(body: dict) -> None:
        latencies.append(time.time() - body["t"])

    await broker.start()
    total = int(rate * seconds)
    start = time.perf_counter()
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await broker.publish({"t": time.time(), "title": "井盖松动", "i": i}, stream=key)
    deadline = time.perf_counter() + 10
    while len(latencies) < total and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    await broker.stop()
    return {"latencies": latencies, "published": total}


def main() -> None:
    spec = json.loads(sys.stdin.read())
    mode = spec.pop("mode")
    fn = {"closed": closed, "open": open_loop, "faststream": faststream_rtt}[mode]
    print(json.dumps(asyncio.run(fn(**spec))))


if __name__ == "__main__":
    main()
