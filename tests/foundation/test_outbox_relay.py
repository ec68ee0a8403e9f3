"""The outbox relay's run loop against real Redis and SQLite/PostgreSQL: each row once, in id order,
none marked sent unless it is on the stream, none left claimed by a relay that stopped."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
import redis
from sqlalchemy import event, func, select, text

from shared.db.sqlite import no_busy_wait
from shared.db.store import Store
from shared.events import new_event
from shared.events.envelope import CloudEvent
from shared.events.tickets import TicketOpened
from shared.messaging.relay import OutboxRelay
from shared.messaging.streams import StreamNames
from tests.conftest import eventually
from tests.support import probe


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, pg_database) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'relay.db'}"
    return pg_database("relay")


def backlog(url: str, count: int) -> tuple[Store, list[str]]:
    """A probe store with ``count`` committed outbox rows for the tickets stream; their event ids in id order."""
    store = Store("probe", url, probe.metadata)
    store.create_all()
    with store.transaction() as session:
        for i in range(count):
            probe.outbox.add(
                session, new_event(TicketOpened(ticket_id=f"T{i}", category="leak", title="x")), stream="tickets"
            )
    t = probe.outbox.table
    with store.engine.connect() as conn:
        ids = conn.execute(select(t.c.event_id).order_by(t.c.id)).scalars().all()
    return store, list(ids)


def streamed_ids(redis_url: str, prefix: str) -> list[str]:
    entries = redis.Redis.from_url(redis_url).xrange(f"{prefix}:tickets")
    return [json.loads(fields[b"cloudevent"])["id"] for _entry_id, fields in entries]


def unsent(store: Store) -> int:
    t = probe.outbox.table
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).where(t.c.sent_at.is_(None))).scalar_one()


async def stop(relay: OutboxRelay, running: asyncio.Task) -> None:
    relay.stopping = True
    relay.wake()
    await asyncio.wait_for(running, 10)
    relay.close()


async def test_the_run_loop_publishes_a_backlog_once_and_in_id_order(database_url, redis_url, prefix):
    store, ids = backlog(database_url, 1050)
    relay = OutboxRelay(store.engine, probe.outbox, redis_url, StreamNames(prefix), batch=100)
    running = asyncio.create_task(relay.run())
    await eventually(lambda: relay.published == len(ids))
    await stop(relay, running)
    assert streamed_ids(redis_url, prefix) == ids  # batches claimed ahead never overtake earlier ones
    assert unsent(store) == 0
    store.dispose()


async def test_rows_stay_pending_while_xadd_fails_and_go_out_in_order_after(database_url, redis_url, prefix):
    store, ids = backlog(database_url, 450)
    client = redis.Redis.from_url(redis_url)
    client.set(f"{prefix}:tickets", "not a stream")  # every XADD to it fails with WRONGTYPE
    relay = OutboxRelay(store.engine, probe.outbox, redis_url, StreamNames(prefix), batch=100)
    running = asyncio.create_task(relay.run())
    await asyncio.sleep(0.5)  # several failed attempts, each with a batch claimed ahead
    assert relay.published == 0
    assert unsent(store) == len(ids)
    if store.engine.dialect.name == "postgresql":  # and no failed attempt left rows locked

        def all_free() -> bool:  # between two attempts: one in flight holds its batch for a moment
            with store.engine.connect() as conn:
                free = conn.execute(text("SELECT id FROM outbox WHERE sent_at IS NULL FOR UPDATE SKIP LOCKED")).all()
            return len(free) == len(ids)

        await eventually(all_free, timeout=10)
    client.delete(f"{prefix}:tickets")
    await eventually(lambda: relay.published == len(ids), timeout=15)
    await stop(relay, running)
    assert streamed_ids(redis_url, prefix) == ids
    assert unsent(store) == 0
    store.dispose()


async def test_two_relays_never_publish_the_same_row(database_url, redis_url, prefix):
    """On PostgreSQL the claims skip each other's locked rows; on SQLite the relay lock file keeps one
    relay off the batch another has read and not yet marked sent."""
    url = database_url
    store, ids = backlog(url, 3000)
    replica = Store("probe", url, probe.metadata)  # another process's engine
    relays = [OutboxRelay(s.engine, probe.outbox, redis_url, StreamNames(prefix), batch=50) for s in (store, replica)]
    running = [asyncio.create_task(relay.run()) for relay in relays]
    await eventually(lambda: sum(relay.published for relay in relays) >= len(ids), timeout=30)
    for relay, task in zip(relays, running, strict=False):
        await stop(relay, task)
    published = streamed_ids(redis_url, prefix)
    assert sorted(published) == sorted(ids)  # each row exactly once
    assert all(relay.published > 0 for relay in relays)  # and both relays took part
    store.dispose()
    replica.dispose()


async def test_a_relay_cancelled_mid_backlog_leaves_no_row_claimed(pg_database, redis_url, prefix):
    url = pg_database("cancel")
    store, ids = backlog(url, 3000)
    first = OutboxRelay(store.engine, probe.outbox, redis_url, StreamNames(prefix), batch=100)
    running = asyncio.create_task(first.run())
    await eventually(lambda: first.published > 0, interval=0.001)
    running.cancel()  # as the runtime does on shutdown, while a batch is claimed ahead
    with pytest.raises(asyncio.CancelledError):
        await running
    first.close()
    second = OutboxRelay(store.engine, probe.outbox, redis_url, StreamNames(prefix), batch=100)
    running = asyncio.create_task(second.run())
    await eventually(lambda: len(streamed_ids(redis_url, prefix)) >= len(ids), timeout=15)
    await stop(second, running)
    assert sorted(streamed_ids(redis_url, prefix)) == sorted(ids)
    assert unsent(store) == 0
    store.dispose()


class HeldRedis:
    """The relay's real Redis client, whose batches of XADDs wait for ``go`` before they are sent: a Redis
    round trip that takes as long as the test wants (Redis or the relay's thread off the cores)."""

    def __init__(self, real: redis.Redis) -> None:
        self.real = real
        self.sending = threading.Event()
        self.go = threading.Event()

    @property
    def connection_pool(self) -> HeldRedis:
        return self  # the relay takes a connection from the pool, sends its packed XADDs, gives it back

    def get_connection(self):
        conn = self.real.connection_pool.get_connection()
        send = conn.send_packed_command

        def held(*args, **kw):
            self.sending.set()
            self.go.wait(10)
            return send(*args, **kw)

        conn.send_packed_command = held
        return conn

    def release(self, conn) -> None:
        del conn.send_packed_command  # the connection's own method again
        self.real.connection_pool.release(conn)

    def close(self) -> None:
        self.real.close()


async def commit_while_a_batch_is_held(store: Store, relay: OutboxRelay) -> tuple[asyncio.Task, CloudEvent]:
    """Start ``relay`` with its first batch's XADDs held, commit one more outbox row on the loop (as
    ``Store.run`` runs a unit of work there) meanwhile, then let the XADDs go: the running relay and the row."""
    held = HeldRedis(relay._redis)
    relay._redis = held
    running = asyncio.create_task(relay.run())
    assert await asyncio.to_thread(held.sending.wait, 10)  # the first batch is read, its XADDs wait
    later = new_event(TicketOpened(ticket_id="T-later", category="leak", title="x"))
    try:
        with no_busy_wait(), store.transaction() as session:
            probe.outbox.add(session, later, stream="tickets")
    finally:
        held.go.set()
    return running, later


async def test_a_sqlite_write_on_the_event_loop_does_not_wait_for_the_relays_xadd(tmp_path, redis_url, prefix):
    """While the relay's XADDs are in flight, the process's writer turn is free: a unit of work run as
    ``Store.run`` runs it on the loop (``no_busy_wait``) commits at once instead of raising WouldWait."""
    store, ids = backlog(f"sqlite:///{tmp_path / 'relay.db'}", 10)
    relay = OutboxRelay(store.engine, probe.outbox, redis_url, StreamNames(prefix), batch=100)
    running, later = await commit_while_a_batch_is_held(store, relay)
    await eventually(lambda: relay.published == len(ids) + 1)
    await stop(relay, running)
    assert streamed_ids(redis_url, prefix) == [*ids, later.id]
    assert unsent(store) == 0
    store.dispose()


async def test_a_row_committed_while_a_batch_is_in_flight_goes_out_right_after_it(database_url, redis_url, prefix):
    """A commit that lands while the relay publishes a batch (read, its XADDs not yet sent) wakes the relay
    again: the row follows that batch at once, not after the relay's idle poll (set to 30 s here)."""
    store, ids = backlog(database_url, 10)
    relay = OutboxRelay(store.engine, probe.outbox, redis_url, StreamNames(prefix), batch=100, idle_poll_s=30)
    store.after_commit("outbox", relay.wake)  # as the runtime wires it
    running, later = await commit_while_a_batch_is_held(store, relay)
    await eventually(lambda: relay.published == len(ids) + 1, timeout=5)
    await stop(relay, running)
    assert streamed_ids(redis_url, prefix) == [*ids, later.id]
    store.dispose()


async def test_on_sqlite_the_relay_takes_the_writer_turn_only_on_the_event_loop(tmp_path, redis_url, prefix):
    """The relay's only write, marking a batch sent, runs on the event loop like any unit of work: its
    worker thread (reads and XADDs) never holds the process's SQLite writer turn, which it held for tens
    of ms while it competed with a busy loop for the GIL."""
    store, ids = backlog(f"sqlite:///{tmp_path / 'relay.db'}", 1050)
    writers: list[str] = []

    @event.listens_for(store.engine, "begin")
    def _writer(conn) -> None:
        if not conn.get_execution_options().get("linli_readonly"):
            writers.append(threading.current_thread().name)

    relay = OutboxRelay(store.engine, probe.outbox, redis_url, StreamNames(prefix), batch=100)
    running = asyncio.create_task(relay.run())
    await eventually(lambda: relay.published == len(ids))
    await stop(relay, running)
    assert streamed_ids(redis_url, prefix) == ids
    assert unsent(store) == 0
    assert len(writers) >= 11  # a mark per batch of 100
    assert set(writers) == {threading.current_thread().name}
    store.dispose()


@pytest.mark.parametrize("maxlen", [1_000_000, None])
async def test_each_row_is_one_entry_with_its_stored_payload_and_type_on_its_own_stream(
    database_url, redis_url, prefix, maxlen
):
    """The relay writes its XADDs in the Redis protocol itself: each row must still be one entry holding
    exactly ``cloudevent`` (the stored JSON, non-ASCII included) and ``type``, on its stream's key, in id
    order, with batches that mix streams and event types."""
    store = Store("probe", database_url, probe.metadata)
    store.create_all()
    streams = ("tickets", "partner:CN-SJZ-LIB:out")
    with store.transaction() as session:
        for i in range(23):
            data = TicketOpened(ticket_id=f"T{i}", category="井盖", title=f"北翟营 {i} 号楼井盖松动" + "x" * (i * 37))
            event = new_event(data, subject=f"T{i}")
            if i % 3 == 2:
                event = event.model_copy(update={"type": "org.linli.probe.Other.v1"})
            probe.outbox.add(session, event, stream=streams[i % 2])
    t = probe.outbox.table
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.stream, t.c.event_type, t.c.payload).order_by(t.c.id)).all()
    relay = OutboxRelay(store.engine, probe.outbox, redis_url, StreamNames(prefix), batch=5, maxlen=maxlen)
    while relay.publish_pending():
        pass
    relay.close()
    client = redis.Redis.from_url(redis_url)
    for stream in streams:
        entries = client.xrange(f"{prefix}:{stream}")
        expected = [
            {b"cloudevent": payload.encode(), b"type": event_type.encode()}
            for row_stream, event_type, payload in rows
            if row_stream == stream
        ]
        assert [fields for _entry_id, fields in entries] == expected
    assert relay.published == len(rows) == 23
    assert unsent(store) == 0
    store.dispose()


async def test_the_cap_trims_the_stream_as_xadd_maxlen_does(tmp_path, redis_url, prefix):
    store, ids = backlog(f"sqlite:///{tmp_path / 'relay.db'}", 1050)
    relay = OutboxRelay(store.engine, probe.outbox, redis_url, StreamNames(prefix), batch=100, maxlen=100)
    while relay.publish_pending():
        pass
    relay.close()
    streamed = streamed_ids(redis_url, prefix)
    assert 100 <= len(streamed) < 1050  # MAXLEN ~ 100: trimmed by whole nodes, never below the cap
    assert streamed == ids[-len(streamed) :]  # the oldest entries went
    store.dispose()
