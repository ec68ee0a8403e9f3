"""Shared helpers of the benchmarks: results, isolated keys and stores, server processes, RSS.

Every measurement uses its own stream prefix (``bench<hex>``), temporary SQLite files and fresh
PostgreSQL databases, and deletes them afterwards; the shared Redis is never flushed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PYTHON = sys.executable
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PG_ADMIN = os.environ.get("LINLI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Figure:
    """One row of the results table: a measured value, its same-run baseline and the goal."""

    section: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    goal: str = ""
    passed: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        return out


def ratio_goal(fig: Figure, minimum: float) -> Figure:
    """Mark ``fig`` passed when its ratio to the baseline is at least ``minimum``."""
    fig.goal = f"≥ {minimum:g}x"
    fig.passed = fig.ratio is not None and fig.ratio >= minimum
    return fig


TAIL_RATIO = 4.0


def flat_tail(section: str, name: str, latencies: dict[str, float], extra: dict[str, Any] | None = None) -> Figure:
    """A tail figure: p99 against the p50 of the same latencies, goal p99 ≤ 4x p50 (issue #22: a
    stall that a slow machine makes shows as a p99 far above the median, whatever the median is)."""
    fig = Figure(section, name, latencies["p99"], "ms", latencies["p50"], "its p50", extra=extra or {})
    fig.goal = f"p99 ≤ {TAIL_RATIO:g}x p50"
    fig.passed = fig.ratio is not None and fig.ratio <= TAIL_RATIO
    return fig


def new_prefix(label: str = "") -> str:
    return f"bench{label}{uuid.uuid4().hex[:8]}"


def drop_keys(prefix: str, url: str = REDIS_URL) -> None:
    """Delete every key under ``prefix:`` (never FLUSHALL: the Redis is shared)."""
    client = redis.Redis.from_url(url)
    batch = []
    for key in client.scan_iter(f"{prefix}:*", count=1000):
        batch.append(key)
        if len(batch) >= 500:
            client.delete(*batch)
            batch.clear()
    if batch:
        client.delete(*batch)
    client.close()


@contextmanager
def temp_dir(label: str):
    path = Path(tempfile.mkdtemp(prefix=f"linli-bench-{label}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def pg_database(label: str):
    """A fresh PostgreSQL database URL, dropped afterwards."""
    import psycopg

    name = f"linli_bench_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine have spent busy since boot (from /proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


SPIN = "import time\nn, end = 0, time.perf_counter() + {s}\nwhile time.perf_counter() < end:\n    n += 1\nprint(n)"


def cpu_scaling(seconds: float = 1.0) -> float:
    """How much more pure-Python counting two processes do at once than one (1, 2, 2, 1 turns): what this
    machine's two cores give right now, whatever Linli does. On a VM it moved between 1.42x and 1.98x from one
    minute to the next (2026-12-07), so a scaling figure below 1.7x may be the machine's and not the code's."""
    done = {1: 0, 2: 0}
    for workers in (1, 2, 2, 1):
        procs = [
            subprocess.Popen([PYTHON, "-c", SPIN.format(s=seconds)], stdout=subprocess.PIPE, text=True)
            for _ in range(workers)
        ]
        done[workers] += sum(int(p.communicate()[0]) for p in procs)
    return done[2] / done[1]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


class Server:
    """A process serving HTTP on loopback (``linli run <targets>`` or a bench app), stopped on exit."""

    def __init__(self, args: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(
            args, env={**os.environ, **env}, cwd=ROOT, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, path: str = "/healthz", timeout: float = 60.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready in {timeout}s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()


def linli_env(prefix: str, var_dir: Path, port: int, **extra: str) -> dict[str, str]:
    """Environment of a ``linli run`` process isolated under ``prefix`` and ``var_dir``; it verifies the
    bench's tokens (``mint_token``) by the public half of this process's development key file."""
    from shared.config import get_settings
    from shared.web.jwks import file_signer, key_file

    settings = get_settings()
    file_signer(settings)  # made now if missing, before a server reads it
    return {
        "LINLI_SIGNING_KEY_FILE": str(Path(str(key_file(settings))).resolve()),
        "LINLI_STREAM_PREFIX": prefix,
        "LINLI_VAR_DIR": str(var_dir),
        "LINLI_HTTP_PORT": str(port),
        "LINLI_LOG_LEVEL": "WARNING",
        "REDIS_URL": REDIS_URL,
        "LINLI_ENV_FILE": "/nonexistent",
        **extra,
    }


def linli_server(targets: list[str], prefix: str, var_dir: Path, **extra: str) -> Server:
    port = free_port()
    args = [str(Path(PYTHON).parent / "linli"), "run", *targets, "--port", str(port)]
    log = var_dir / f"server-{'-'.join(targets) or 'all'}-{port}.log"
    var_dir.mkdir(parents=True, exist_ok=True)
    return Server(args, linli_env(prefix, var_dir, port, **extra), port, log)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
