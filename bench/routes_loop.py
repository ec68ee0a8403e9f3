"""A route of figure 8 called in process, straight through its service's ASGI app, or its bare twin
(bench/bare_app.py): ``python -m bench.routes_loop NAME`` or ``ref-NAME``, NAME one of :data:`NAMES`.

The sibling of bench/asgi_loop.py for the library, volunteers, notify and activities routes of issue #22:
the demo data as bench/routes.py loads it (``linli demo`` in a child process, the seeded copies, loans and
desk rule, the resident's 20 inbox messages), the same callers, tokens and bodies, the twin on this run's
own files. No server, no client: what is left is the app's work per request, which
:file:`bench/instructions.sh` counts with valgrind. ``REPS`` (default 10) rounds of ``ROUND`` (default 100)
requests after ``WARM`` (default 50) warm-up calls; prints the best round's CPU time per request
(``PROFILE=file``: a cProfile of the rounds, written there). A route cycling
through households mints the tokens of every round it could run before counting (so that N and 3N rounds
differ only in requests).
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROUND = int(os.environ.get("ROUND", "100"))
WARM = int(os.environ.get("WARM", "50"))
MAX_REPS = 10  # households' tokens are minted for this many rounds, whatever REPS is
NAMES = {  # short name: the figure-8 route's path
    "branches": "/api/library/branches",
    "reader": "/api/library/readers/me",
    "checkout": "/api/library/checkout",
    "elders": "/api/volunteers/elders?community=3502",
    "volunteer": "/api/volunteers/volunteers/VOL-wang-guilan",
    "logs": "/api/volunteers/logs",
    "inbox": "/api/notify/inbox",
    "signup": "/api/activities/activities/{activity}/signups",
    "signin": "/api/accounts/auth/token",
}


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "branches"
    twin = what.startswith("ref-")
    os.environ.setdefault("LINLI_LOG_JSON", "false")
    from bench import bare_app
    from bench.common import drop_keys, new_prefix
    from bench.routes import ROUTES, load_demo, seed_library, workshop
    from host import catalog
    from host.app import build_app
    from host.runtime import Runtime
    from shared.config import Settings, get_settings
    from shared.web.auth import mint_token
    from shared.web.jwks import file_signer, key_file

    (route,) = [r for r in ROUTES if r.path == NAMES[what.removeprefix("ref-")]]
    prefix, folder = new_prefix("rl"), Path(tempfile.mkdtemp())
    load_demo(prefix, folder)  # a child process: valgrind does not follow it
    if route.service == "notify":
        inbox_messages(folder)
    found = {**seed_library(folder / "library.db", "resident:zhang-xiaosen"), **workshop(folder / "activities.db")}
    file_signer(get_settings())
    keys = Path(str(key_file(get_settings()))).resolve()
    settings = Settings(stream_prefix=prefix, var_dir=folder, consumer_name="l1", log_json=False, signing_key_file=keys)
    runtime = Runtime(catalog.load([route.service]), settings=settings, run_tickers=False)
    app = build_app(runtime)
    bare_app.VAR_DIR = folder

    path = (route.bare if twin else route.path).format(**found)
    given = signin_codes(folder, WARM + MAX_REPS * ROUND) if route.seeded else route.bodies
    bodies = [json.dumps(b, ensure_ascii=False).encode() for b in given] or [b""]
    calls: list[tuple[str, bytes, str | None]] = []  # (target, body, token)
    if route.caller is None:  # an open route: each body once (a sign-in code is spent)
        calls = [(path, body, None) for body in bodies]
    elif route.households:
        sub, roles = route.caller
        for i in range(WARM + MAX_REPS * ROUND):
            if twin:
                calls.append((f"{path}?household=H-bench-{i}", bodies[0], None))
            else:
                token = mint_token(f"{sub}{i}", list(roles), household=f"H-bench-{i}", community="智汇城")
                calls.append((path, bodies[0], token))
    else:
        sub, roles = route.caller
        city_wide = ["*"] if {"staff", "operator"} & set(roles) else None
        token = mint_token(sub, list(roles), communities=city_wide)
        calls = [(path, body, None if twin else token) for body in bodies]

    async def call(target: str, payload: bytes, token: str | None) -> int:
        path, _, query = target.partition("?")
        headers = [(b"host", b"bench"), (b"content-type", b"application/json")]
        headers.append((b"content-length", str(len(payload)).encode()))
        if token is not None:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": route.method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
            "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
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

        await (bare_app.app if twin else app)(scope, receive, send)
        return status[0]

    counter = iter(range(1 << 30))

    def step() -> Awaitable[int]:
        return call(*calls[next(counter) % len(calls)])

    async def run(step: Callable[[], Awaitable[int]]) -> None:
        async with app.router.lifespan_context(app):
            for _ in range(WARM):
                status = await step()
                assert status in (200, 201), status
            rounds, bad = [], 0
            profile = cProfile.Profile() if os.environ.get("PROFILE") else None
            if profile is not None:
                profile.enable()
            for _ in range(int(os.environ.get("REPS", "10"))):
                started = time.process_time()
                for _ in range(ROUND):
                    bad += await step() >= 300
                rounds.append((time.process_time() - started) / ROUND * 1e6)
            if profile is not None:
                profile.disable()
                profile.dump_stats(os.environ["PROFILE"])
            print(
                f"{what}: {min(rounds):.0f} us CPU per request (best of {len(rounds)} rounds of {ROUND}), {bad} not 2xx"
            )

    import uvloop

    try:
        uvloop.run(run(step))
    finally:
        drop_keys(prefix)


def inbox_messages(folder: Path) -> None:
    """bench/routes.py's inbox: the demo resident's messages, written with notify's ORM model by a child
    process (valgrind does not follow it)."""
    script = (
        "import pathlib; from bench.routes import NOTES, RESIDENT, seed_inbox; "
        f"seed_inbox(pathlib.Path({str(folder)!r}) / 'notify.db', RESIDENT, NOTES)"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)


def signin_codes(folder: Path, count: int) -> list[dict[str, str]]:
    """bench/routes.py's sign-in bodies, seeded by a child process (valgrind does not follow it: the
    seeding is not counted, and runs at full speed)."""
    script = (
        "import json, pathlib; from bench.routes import signin_codes; "
        f"print(json.dumps(signin_codes(pathlib.Path({str(folder)!r}), {count})))"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


if __name__ == "__main__":
    main()
