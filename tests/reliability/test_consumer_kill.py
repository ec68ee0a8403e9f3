"""A consuming process SIGKILLed in the middle of 3,000 events and started again: every effect once.

The consumer is the probe in a process of its own (``probe_process.py``) on SQLite; the test writes
3,000 TicketOpened entries, kills the process (SIGKILL: no shutdown, nothing acknowledged) once about
a third of them are applied, and starts a new one (a new consumer name: it reclaims the dead
consumer's pending entries after ``LINLI_CLAIM_IDLE_MS``). The dead process may have committed a batch
it never acknowledged; the inbox makes its redelivery a duplicate, not a second effect.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import redis.asyncio as aredis

from shared.messaging.streams import StreamNames, encode_entry
from tests.conftest import eventually
from tests.reliability.streams import pending, tally, ticket

EVENTS = 3000
KILL_AT = 1000  # effects seen before the SIGKILL
REPO = Path(__file__).resolve().parents[2]


class ProbeProcess:
    """``python -m tests.reliability.probe_process`` with the test's settings in its environment."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = {**os.environ, **env}
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    async def start(self) -> float:
        """Start and wait until it is subscribed; returns the seconds that took."""
        self.starts += 1
        ready = self.workdir / f"ready-{self.starts}"
        log = open(self.workdir / f"probe-{self.starts}.log", "wb")  # noqa: SIM115 - closed with the process
        began = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.probe_process", str(ready)],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        await eventually(lambda: ready.exists() or self.proc.poll() is not None, timeout=60)
        assert self.proc.poll() is None, (self.workdir / f"probe-{self.starts}.log").read_text()[-2000:]
        return time.monotonic() - began

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def effects(db: Path) -> list[str]:
    """The event id of every effect the probe committed (read from its SQLite file, as it is)."""
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=5) as conn:
        try:
            return [row[0] for row in conn.execute("SELECT event_id FROM effect ORDER BY id")]
        except sqlite3.OperationalError:  # not migrated yet
            return []


async def test_a_consumer_sigkilled_mid_3000_events_applies_every_one_once_after_restart(settings, tmp_path, record):
    names = StreamNames(settings.stream_prefix)
    stream = names.events("tickets")
    var = tmp_path / "var"
    process = ProbeProcess(
        {
            "REDIS_URL": settings.redis_url,
            "LINLI_STREAM_PREFIX": settings.stream_prefix,
            "LINLI_VAR_DIR": str(var),
            "LINLI_CLAIM_IDLE_MS": "1000",
            "LINLI_RECLAIM_INTERVAL_MS": "200",
            "LINLI_LOG_LEVEL": "WARNING",
            "LINLI_BATCH_SIZE": "100",  # several batches in flight around the kill
        },
        tmp_path,
    )
    db = var / "probe.db"
    r = aredis.Redis.from_url(settings.redis_url)
    sent = [ticket(n) for n in range(EVENTS)]
    try:
        await process.start()
        for start in range(0, EVENTS, 500):
            pipe = r.pipeline(transaction=False)
            for event in sent[start : start + 500]:
                pipe.xadd(stream, encode_entry(event.to_json(), event.type))
            await pipe.execute()
        await eventually(lambda: len(effects(db)) >= KILL_AT, timeout=60, interval=0.01)
        process.kill()
        at_kill = len(effects(db))
        pending_at_kill = await pending(r, stream, "probe")
        killed = time.monotonic()
        ready_s = await process.start()
        await eventually(lambda: len(effects(db)) >= EVENTS, timeout=90, interval=0.1)
        recovery_s = time.monotonic() - killed
        await eventually(lambda: _none_pending(r, stream), timeout=30)
        applied = effects(db)
        figures = record(
            {
                **tally(applied, [e.id for e in sent]),
                "effects_when_killed": at_kill,
                "pending_when_killed": pending_at_kill,
                "restart_to_subscribed_s": round(ready_s, 1),
                "recovery_s": round(recovery_s, 1),
                "dead_letters": await r.xlen(names.dead_letter),
            }
        )
    finally:
        process.stop()
        await r.aclose()
    assert at_kill < EVENTS  # killed in the middle, not after
    assert figures["duplicates"] == 0 and figures["losses"] == 0
    assert sorted(applied) == sorted(e.id for e in sent)
    assert figures["dead_letters"] == 0


async def _none_pending(r, stream) -> bool:
    return await pending(r, stream, "probe") == 0
