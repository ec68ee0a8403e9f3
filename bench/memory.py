"""5) memory, and the server stack the latency and HTTP runs use.

``tickets`` and ``notify`` run as two ``linli run <service>`` processes (SQLite files in a temporary
folder, a private stream prefix) next to the bare FastAPI baseline. RSS (``VmRSS``) of each service is
read idle, two seconds after start, and again after the latency and HTTP runs. Then ``linli run`` (all
services in one process) is started alone, read idle, loaded for a few seconds, and read again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import http_api, latency
from bench.common import (
    PYTHON,
    Figure,
    Server,
    drop_keys,
    free_port,
    linli_server,
    log,
    new_prefix,
    rss_mb,
    temp_dir,
)
from bench.consumer import STAFF

SERVICE_LIMIT_MB = 150
ALL_LIMIT_MB = 300


@dataclass
class Stack:
    prefix: str
    var_dir: Path
    tickets: Server
    notify: Server
    bare: Server


def register_staff(port: int) -> None:
    """The thin flow's on-duty staff member, registered through notify's HTTP API."""
    from shared.web.auth import mint_token

    token = mint_token(STAFF, ["staff"], name="值班员", communities=["*"])  # city-wide: staff reach what they serve
    r = httpx.put(
        f"http://127.0.0.1:{port}/api/notify/recipients/{STAFF}",
        headers={"Authorization": f"Bearer {token}"},
        json={"user_id": STAFF, "display_name": "值班员", "roles": ["staff"], "categories": ["*"], "on_duty": True},
        timeout=10,
    )
    r.raise_for_status()


def memory_figure(name: str, value: float, limit: float, **extra) -> Figure:
    return Figure("5 memory", name, value, "MB RSS", goal=f"< {limit} MB", passed=value < limit, extra=extra)


def measure(quick: bool) -> tuple[list[Figure], dict]:
    """Figures 3, 4 and 5; returns the latency data for the chart as well."""
    figures: list[Figure] = []
    with temp_dir("stack") as tmp:
        prefix = new_prefix("s")
        port = free_port()
        servers = [
            linli_server(["tickets"], prefix, tmp),
            linli_server(["notify"], prefix, tmp),
            Server([PYTHON, "-m", "bench.bare_app", str(port), str(tmp)], {}, port, tmp / "bare.log"),
        ]
        try:
            for server in servers:
                server.wait_ready()
            stack = Stack(prefix, tmp, *servers)
            time.sleep(2)
            idle = {"tickets": rss_mb(stack.tickets.pid), "notify": rss_mb(stack.notify.pid)}
            register_staff(stack.notify.port)
            lat_figures, lat_data = latency.measure(stack, quick)
            figures += lat_figures
            figures += http_api.measure(stack, quick)
            loaded = {"tickets": rss_mb(stack.tickets.pid), "notify": rss_mb(stack.notify.pid)}
            for name in ("tickets", "notify"):
                figures.append(memory_figure(f"{name} process idle", idle[name], SERVICE_LIMIT_MB))
                figures.append(memory_figure(f"{name} process after load", loaded[name], SERVICE_LIMIT_MB))
        finally:
            for server in servers:
                server.stop()
            drop_keys(prefix)
    figures += all_in_one(quick)
    return figures, lat_data


def all_in_one(quick: bool) -> list[Figure]:
    """``linli run`` with every service: RSS idle and after a short load of ticket reports."""
    with temp_dir("all") as tmp:
        prefix = new_prefix("a")
        server = linli_server([], prefix, tmp)
        try:
            try:
                server.wait_ready()
            except RuntimeError as exc:
                log(f"memory: linli run (all) did not start: {exc}")
                return [
                    Figure(
                        "5 memory",
                        "linli run (all services) idle",
                        float("nan"),
                        "MB RSS",
                        goal=f"< {ALL_LIMIT_MB} MB",
                        passed=False,
                        extra={"error": str(exc)[-500:]},
                    )
                ]
            time.sleep(2)
            idle = rss_mb(server.pid)
            register_staff(server.port)
            run = latency.e2e(server.port, tmp / "notify.db", 200.0, 3.0 if quick else 10.0)
            loaded = rss_mb(server.pid)
            extra = {k: v for k, v in run.items() if k != "latencies"}
            return [
                memory_figure("linli run (all services) idle", idle, ALL_LIMIT_MB),
                memory_figure("linli run (all services) after load", loaded, ALL_LIMIT_MB, **extra),
            ]
        finally:
            server.stop()
            drop_keys(prefix)
