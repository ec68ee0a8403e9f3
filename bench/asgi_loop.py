"""One tickets route called in process, straight through the ASGI app: ``python -m bench.asgi_loop list|create``,
or its same-work reference of figure 4 (bench/bare_app.py: plain sqlite3, no auth, no ORM): ``ref-list|ref-create``.

No server, no client, no sockets: what is left is the app's own work per request, which is what
:file:`bench/instructions.sh` counts with valgrind (instructions do not vary with a noisy machine the way
requests per second do). ``REPS`` (default 10) rounds of 300 requests after 20 reports and 200 warm-up
calls; prints the best round's CPU time per request (``PROFILE=file``: a cProfile of the rounds). Also runs
on a tree as old as 60f56e5 (its runtime lived in ``shared/runtime.py``), so that a change can be compared
with an older commit.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROUND = 300


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "list"
    os.environ.setdefault("LINLI_LOG_JSON", "false")
    from bench.latency import TICKET
    from services.tickets.module import module
    from shared.config import Settings
    from shared.web.auth import mint_token

    try:
        from host.app import build_app
        from host.runtime import Runtime
    except ImportError:  # before the frame moved to host/
        from shared.runtime import Runtime  # type: ignore[no-redef]

        def build_app(r):  # type: ignore[no-untyped-def]
            return r.build_app()

    prefix, folder = f"loop{uuid.uuid4().hex[:6]}", Path(tempfile.mkdtemp())
    settings = Settings(stream_prefix=prefix, var_dir=folder, consumer_name="l1", log_json=False)
    runtime = Runtime([module], settings=settings, run_tickers=False)
    runtime.migrate()
    app = build_app(runtime)
    try:
        token = mint_token("resident:loop", ["resident"], name="loop", communities=["3502"])
    except TypeError:  # tokens before scopes
        token = mint_token("resident:loop", ["resident"], name="loop")
    body = json.dumps(TICKET).encode()

    from bench import bare_app

    bare_app.VAR_DIR = folder  # the same-work reference reads and copies this run's tickets.db

    async def call(method: str, target: str, payload: bytes = b"", asgi: object = app) -> int:
        path, _, query = target.partition("?")
        headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        }  # fmt: skip
        sent = False
        status: list[int] = []

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": payload, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await asgi(scope, receive, send)  # type: ignore[operator]
        return status[0]

    async def bare_call(method: str, target: str, payload: bytes = b"") -> int:
        return await call(method, target, payload, bare_app.app)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            for _ in range(20):
                assert await call("POST", "/api/tickets/tickets", body) == 201
            routes = {
                "list": lambda: call("GET", "/api/tickets/tickets"),
                "create": lambda: call("POST", "/api/tickets/tickets", body),
                "ref-list": lambda: bare_call("GET", "/bare/db?reporter=resident:loop"),
                "ref-create": lambda: bare_call("POST", "/bare/db", body),
            }
            step = routes[what]
            for _ in range(200):
                status = await step()
            assert status in (200, 201), status
            rounds = []
            profile = cProfile.Profile() if os.environ.get("PROFILE") else None
            for _ in range(int(os.environ.get("REPS", "10"))):
                started = time.process_time()
                if profile is not None:
                    profile.enable()
                for _ in range(ROUND):
                    await step()
                if profile is not None:
                    profile.disable()
                rounds.append((time.process_time() - started) / ROUND * 1e6)
            if profile is not None:
                profile.dump_stats(os.environ["PROFILE"])
            print(f"{what}: {min(rounds):.0f} us CPU per request (best of {len(rounds)} rounds of {ROUND})")

    import uvloop

    from bench.common import drop_keys

    try:
        uvloop.run(run())
    finally:
        drop_keys(prefix)  # the runtime's streams and groups in the machine's Redis


if __name__ == "__main__":
    main()
