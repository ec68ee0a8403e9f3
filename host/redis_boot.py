"""Find the Redis to use, or start a private ``redis-server`` when none answers (``linli run``)."""

from __future__ import annotations

import atexit
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redis


class RedisUnavailable(RuntimeError):
    pass


def reachable(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
        return True
    except redis.RedisError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when the parent exits, however it exits
    (uvicorn ends on a re-raised SIGTERM, which skips ``atexit``)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def start_private_redis() -> str:
    """Start ``redis-server`` on a free loopback port for this process; return its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisUnavailable(
            "No Redis answers at REDIS_URL and redis-server is not installed.\n"
            "Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`)\n"
            "or point REDIS_URL at a running Redis 7, e.g. REDIS_URL=redis://127.0.0.1:6379/0"
        )
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="linli-redis-")
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509 - no threads yet
    )
    atexit.register(proc.terminate)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        if reachable(url):
            return url
        time.sleep(0.05)
    proc.terminate()
    raise RedisUnavailable(f"started {binary} on port {port} but it did not answer")


def resolve_redis(url: str, allow_private: bool = True) -> tuple[str, bool]:
    """``(url, started)``: the configured Redis if it answers, else a private one."""
    if reachable(url):
        return url, False
    if not allow_private:
        raise RedisUnavailable(f"No Redis answers at {url}")
    return start_private_redis(), True
