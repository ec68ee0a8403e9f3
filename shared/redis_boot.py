"""Find the Redis to use, or start a private ``redis-server`` when none answers (``linli run``)."""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
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
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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
