"""The store layer on SQLite and on PostgreSQL: migrations, outbox, inbox, relay."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from host import catalog
from shared.db.migrations import upgrade
from shared.db.store import Store
from shared.events import new_event
from shared.events.tickets import TicketOpened
from shared.messaging.relay import OutboxRelay
from shared.messaging.streams import StreamNames
from tests.support import probe


@contextmanager
def write_held_open(store: Store, statement: str) -> Iterator[None]:
    """Within the block, another thread of this process holds a write transaction that ran ``statement``."""
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with store.transaction() as session:
            session.execute(text(statement))
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    holding.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join(10)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, pg_database) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return pg_database("store")


def test_every_service_migrates_to_head_and_matches_its_models(database_url):
    """Alembic revisions create exactly the tables, columns and indexes the models declare (no drift)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    for module in catalog.load(None):
        store = Store(module.name, database_url, module.metadata)
        upgrade(module.name, module.migrations, store.engine)
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), module.metadata)
            tables = set(inspect(conn).get_table_names())
        assert {"outbox", "inbox"} <= tables
        drift = ("add_table", "remove_table", "add_column", "remove_column", "add_index", "remove_index")
        assert not [d for d in diff if d[0] in drift], (
            f"{module.name}: models and migrations differ: {diff}; run `linli db revision {module.name} -m ...`"
        )
        store.metadata.drop_all(store.engine)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        store.dispose()


def test_outbox_rows_commit_with_state_and_roll_back_with_it(database_url, redis_url, prefix):
    store = Store("probe", database_url, probe.metadata)
    store.create_all()
    committed = new_event(TicketOpened(ticket_id="T1", category="leak", title="水管漏水"), subject="T1")
    with store.transaction() as session:
        session.add(probe.Effect(event_id=committed.id, title="state"))
        probe.outbox.add(session, committed, stream="tickets")
    with pytest.raises(RuntimeError), store.transaction() as session:
        probe.outbox.add(session, new_event(TicketOpened(ticket_id="T2", category="leak", title="x")))
        raise RuntimeError("use case failed")
    relay = OutboxRelay(store.engine, probe.outbox, redis_url, StreamNames(prefix))
    assert relay.publish_pending() == 1
    assert relay.publish_pending() == 0  # sent rows are not published again
    entries = redis.Redis.from_url(redis_url).xrange(f"{prefix}:tickets")
    assert len(entries) == 1 and committed.id.encode() in entries[0][1][b"cloudevent"]
    relay.close()
    store.dispose()


def test_inbox_records_an_event_once_per_group(database_url):
    """As the consumer does per batch: ``seen_among`` finds what a group handled before, ``record_many``
    writes the new rows; the key refuses a second row for a group (a racing replica's batch fails)."""
    store = Store("probe", database_url, probe.metadata)
    store.create_all()
    with store.transaction() as session:
        assert probe.inbox.seen_among(session, "notify", [("/linli/t", "e-1")]) == set()
        probe.inbox.record_many(session, "notify", [("/linli/t", "e-1", "t")])
    with store.transaction() as session:
        assert probe.inbox.seen_among(session, "notify", [("/linli/t", "e-1"), ("/linli/t", "e-2")]) == {
            ("/linli/t", "e-1")
        }
        assert probe.inbox.seen_among(session, "tickets", [("/linli/t", "e-1")]) == set()  # groups are independent
        probe.inbox.record_many(session, "tickets", [("/linli/t", "e-1", "t")])
    with pytest.raises(IntegrityError), store.transaction() as session:
        probe.inbox.record_many(session, "notify", [("/linli/t", "e-1", "t")])
    with store.transaction() as session:
        rows = session.execute(select(probe.inbox.table.c.consumer_group)).scalars().all()
    assert sorted(rows) == ["notify", "tickets"]
    store.dispose()


def test_a_read_only_unit_keeps_nothing_it_wrote(database_url):
    """A read-only unit of work ends by rolling back: a write slipped into it is not kept."""
    store = Store("probe", database_url, probe.metadata)
    store.create_all()
    with store.transaction(readonly=True) as session:
        session.add(probe.Effect(event_id="e-read", title="written in a read"))
        session.flush()
    with store.transaction() as session:
        assert session.execute(text("SELECT count(*) FROM effect")).scalar() == 0
    store.metadata.drop_all(store.engine)
    store.dispose()


def test_on_sqlite_reads_do_not_queue_behind_a_writer(tmp_path):
    import time

    store = Store("probe", f"sqlite:///{tmp_path / 'store.db'}", probe.metadata)
    store.create_all()
    with write_held_open(store, "INSERT INTO effect (event_id, title) VALUES ('e1', 'uncommitted')"):
        started = time.monotonic()
        with store.transaction(readonly=True) as session:
            seen = session.execute(text("SELECT count(*) FROM effect")).scalar()
        waited = time.monotonic() - started
    assert seen == 0  # the committed snapshot, not the writer's work in progress
    assert waited < 1.0  # a writing transaction (BEGIN IMMEDIATE) would wait for the writer
    store.dispose()


def sqlite_store_counting_checkouts(tmp_path) -> tuple[Store, list[object]]:
    """A probe store on a SQLite file, and the list its pool's checkouts are appended to."""
    from sqlalchemy import event

    store = Store("probe", f"sqlite:///{tmp_path / 'store.db'}", probe.metadata)
    store.create_all()
    checkouts: list[object] = []
    event.listen(store.engine, "checkout", lambda *_: checkouts.append(1))
    return store, checkouts


def test_on_sqlite_a_thread_keeps_its_sessions_and_each_unit_sees_the_latest_commit(tmp_path):
    from sqlalchemy import event

    from shared.errors import NotFound

    store, checkouts = sqlite_store_counting_checkouts(tmp_path)

    def count() -> int:
        with store.transaction(readonly=True) as session:
            return session.execute(text("SELECT count(*) FROM effect")).scalar_one()

    assert count() == 0
    opened = len(checkouts)
    for n in range(1, 4):  # a commit between two reads is seen by the second: each read is a new snapshot
        with store.transaction() as session:
            session.add(probe.Effect(event_id=f"e{n}", title="committed"))
        assert count() == n
    with pytest.raises(NotFound), store.transaction(readonly=True) as session:  # a read that fails …
        session.execute(text("SELECT 1"))
        raise NotFound("nothing here")
    with store.transaction(readonly=True) as outer:  # … and one inside another get sessions of their own
        assert count() == 3
        assert outer.execute(text("SELECT count(*) FROM effect")).scalar_one() == 3
    assert count() == 3
    assert len(checkouts) - opened == 2  # the writes' one connection and the inner read's; the rest were kept

    fired: list[str] = []
    with pytest.raises(NotFound), store.transaction() as session:  # a write that fails leaves nothing behind
        event.listen(session, "after_commit", lambda _s: fired.append("hook of the failed write"), once=True)
        session.add(probe.Effect(event_id="e-failed", title="rolled back"))
        raise NotFound("refused")
    with store.transaction() as session:
        session.add(probe.Effect(event_id="e4", title="committed"))
    assert fired == [] and count() == 4
    store.dispose()
    assert count() == 4  # a disposed store opens afresh
    store.dispose()


def test_a_read_on_a_connection_sees_each_commit_keeps_nothing_and_does_not_wait_for_writers(database_url):
    """``Store.reading()`` (``Runner.rows``): a read-only transaction without an ORM session. Each read sees
    every commit before it, a write slipped into it is rolled back, a read that raised leaves the next one
    working, and on either database a writer in progress is neither waited for nor seen."""
    store = Store("probe", database_url, probe.metadata)
    store.create_all()

    def count() -> int:
        with store.reading() as connection:
            return connection.execute(text("SELECT count(*) FROM effect")).scalar_one()

    assert count() == 0
    for n in range(1, 3):
        with store.transaction() as session:
            session.add(probe.Effect(event_id=f"e{n}", title="committed"))
        assert count() == n
    with store.reading() as connection:
        connection.execute(text("INSERT INTO effect (event_id, title) VALUES ('e-read', 'written in a read')"))
    with pytest.raises(ValueError), store.reading() as connection:
        connection.execute(text("SELECT 1"))
        raise ValueError("the read refused")
    assert count() == 2
    with write_held_open(store, "INSERT INTO effect (event_id, title) VALUES ('e-open', 'uncommitted')"):
        assert count() == 2
    assert count() == 3
    store.metadata.drop_all(store.engine)
    store.dispose()


def test_on_sqlite_a_thread_keeps_its_read_connection(tmp_path):
    store, checkouts = sqlite_store_counting_checkouts(tmp_path)
    with store.reading() as first:
        pass
    opened = len(checkouts)
    for _ in range(5):
        with store.reading() as connection:
            driver = connection.connection.driver_connection
            assert connection is first and driver.in_transaction  # one snapshot for the read's statements
            connection.execute(text("SELECT 1"))  # a Core statement joins it rather than beginning another
        assert not driver.in_transaction and not connection.in_transaction()
    with store.reading() as outer, store.reading() as inner:  # a read inside another gets its own
        assert inner is not outer
    assert len(checkouts) - opened == 1
    store.dispose()
    with store.reading() as connection:  # a disposed store opens afresh
        assert connection.execute(text("SELECT count(*) FROM effect")).scalar_one() == 0
    store.dispose()


def test_sqlite_writers_take_turns_and_a_failed_write_frees_the_turn(tmp_path):
    """Concurrent writers of one process all commit; a rolled-back or abandoned write does not block the next."""
    from sqlmodel import Session

    store = Store(probe.module.name, f"sqlite:///{tmp_path / 'turns.db'}", probe.module.metadata)
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE tally (n INTEGER NOT NULL)"))
    with pytest.raises(RuntimeError):
        with store.transaction() as session:
            session.execute(text("INSERT INTO tally VALUES (1)"))
            raise RuntimeError("the use case refused")
    session = Session(store.engine)  # written, then closed without commit or rollback
    session.execute(text("INSERT INTO tally VALUES (1)"))
    session.close()

    def write(count: int) -> None:
        for _ in range(count):
            with store.transaction() as s:
                current = s.execute(text("SELECT count(*) FROM tally")).scalar_one()
                s.execute(text("INSERT INTO tally VALUES (:n)"), {"n": current + 1})

    threads = [threading.Thread(target=write, args=(50,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with store.transaction(readonly=True) as s:
        values = s.execute(text("SELECT n FROM tally ORDER BY n")).scalars().all()
    store.dispose()
    assert values == list(range(1, 401))  # read-check-write under BEGIN IMMEDIATE: no lost or doubled update


async def test_on_sqlite_a_unit_of_work_runs_on_the_loop_unless_another_process_writes(tmp_path):
    """``Store.run`` on SQLite: inline when the database is free; when another process holds it, the
    work moves to the store's thread before writing anything, the loop keeps answering meanwhile,
    and each unit of work is stored exactly once."""
    import asyncio
    import sqlite3

    path = tmp_path / "busy.db"
    store = Store("probe", f"sqlite:///{path}", probe.metadata)
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE tally (n INTEGER NOT NULL)"))
    ran_on: list[int] = []

    def add(n: int) -> int:
        ran_on.append(threading.get_ident())
        with store.transaction() as session:
            session.execute(text("INSERT INTO tally VALUES (:n)"), {"n": n})
            return session.execute(text("SELECT count(*) FROM tally")).scalar_one()

    def refuse() -> None:
        raise ValueError("the use case refused")

    assert await store.run(add, 1) == 1
    assert ran_on == [threading.get_ident()]  # on the event loop's own thread
    with pytest.raises(ValueError, match="refused"):
        await store.run(refuse)

    other = sqlite3.connect(path, isolation_level=None)  # another process, as far as SQLite can tell
    other.execute("BEGIN IMMEDIATE")
    ran_on.clear()
    first = asyncio.ensure_future(store.run(add, 2))
    await asyncio.sleep(0.2)
    second = asyncio.ensure_future(store.run(add, 3))
    ticks = 0
    for _ in range(5):  # the loop is free while both wait for the other writer
        await asyncio.sleep(0.02)
        ticks += 1
    assert ticks == 5 and not first.done() and not second.done()
    other.execute("COMMIT")
    other.close()
    assert await asyncio.wait_for(first, 10) == 2
    assert await asyncio.wait_for(second, 10) == 3
    loop_thread = threading.get_ident()
    assert ran_on[0] == loop_thread and ran_on[-1] != loop_thread  # refused on the loop, then on the thread
    assert ran_on.count(loop_thread) == 1  # the second went straight to the thread, behind the first
    with store.transaction(readonly=True) as session:
        assert session.execute(text("SELECT n FROM tally ORDER BY n")).scalars().all() == [1, 2, 3]
    store.dispose()


async def test_on_postgresql_units_of_work_overlap_on_the_stores_threads(pg_database):
    import asyncio

    store = Store("probe", pg_database("threads"), probe.metadata)
    loop_thread = threading.get_ident()
    seen: set[int] = set()
    running = most = 0
    lock = threading.Lock()

    def note() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            seen.add(threading.get_ident())
        threading.Event().wait(0.05)
        with lock:
            running -= 1

    await asyncio.gather(*(store.run(note) for _ in range(8)))
    store.dispose()
    assert loop_thread not in seen and most > 1


async def test_on_sqlite_the_loop_waits_briefly_for_a_slow_writer_of_its_own_process(tmp_path):
    """A unit of work behind a long write of another thread (a periodic job, say) moves to the store's
    thread instead of holding the event loop until that write ends."""
    import asyncio

    store = Store("probe", f"sqlite:///{tmp_path / 'slow.db'}", probe.metadata)
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE tally (n INTEGER NOT NULL)"))

    def add() -> None:
        with store.transaction() as session:
            session.execute(text("INSERT INTO tally VALUES (2)"))

    with write_held_open(store, "INSERT INTO tally VALUES (1)"):  # a periodic job's long write, say
        pending = asyncio.ensure_future(store.run(add))
        started = asyncio.get_running_loop().time()
        await asyncio.sleep(0.3)  # this line runs: the loop gave up waiting after 0.1 s
        assert asyncio.get_running_loop().time() - started < 1.0 and not pending.done()
    await asyncio.wait_for(pending, 10)
    with store.transaction(readonly=True) as session:
        assert session.execute(text("SELECT n FROM tally ORDER BY n")).scalars().all() == [1, 2]
    store.dispose()


def test_on_sqlite_a_write_that_may_wait_waits_on_a_connection_the_loop_wrote_on(tmp_path):
    """A write on the event loop begins without SQLite's busy handler and leaves it off on its kept
    connection; a later write on that connection that may wait (outside ``no_busy_wait``) still waits
    for another process's write instead of failing at once with "database is locked"."""
    import sqlite3

    from shared.db.sqlite import no_busy_wait

    path = tmp_path / "wait.db"
    store = Store("probe", f"sqlite:///{path}", probe.metadata)
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE tally (n INTEGER NOT NULL)"))

    def add(n: int) -> None:
        with store.transaction() as session:
            session.execute(text("INSERT INTO tally VALUES (:n)"), {"n": n})

    with no_busy_wait():
        add(1)  # as on the event loop: this thread's kept write connection
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # as another process
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO tally VALUES (2)")
    later = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    later.start()
    add(3)  # the same thread and connection, waiting this time
    later.join()
    other.close()
    with store.transaction(readonly=True) as session:
        assert session.execute(text("SELECT n FROM tally ORDER BY n")).scalars().all() == [1, 2, 3]
    store.dispose()


def test_on_sqlite_a_write_after_a_failed_one_is_still_all_or_nothing(tmp_path):
    """A write unit that fails lets its kept session and connection go (its transaction, the driver's
    under a session transaction left open, is rolled back); whichever pooled connection a later write
    gets, that write is still one transaction: rolled back, it leaves nothing."""
    from sqlmodel import Session

    store = Store("probe", f"sqlite:///{tmp_path / 'failed.db'}", probe.metadata)
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE tally (n INTEGER NOT NULL)"))
    with store.transaction() as session:
        session.execute(text("INSERT INTO tally VALUES (1)"))
    with pytest.raises(RuntimeError):
        with store.transaction() as session:
            session.execute(text("INSERT INTO tally VALUES (2)"))
            raise RuntimeError("the use case refused")
    sessions = [Session(store.engine) for _ in range(3)]  # every connection the pool holds, the one let go of too
    for session in sessions:
        session.execute(text("INSERT INTO tally VALUES (3)"))
        session.rollback()
    for session in sessions:
        session.close()
    with store.transaction() as session:
        session.execute(text("INSERT INTO tally VALUES (4)"))
    with store.transaction(readonly=True) as session:
        assert session.execute(text("SELECT n FROM tally ORDER BY n")).scalars().all() == [1, 4]
    store.dispose()


def test_sqlite_page_caches_of_a_whole_process_stay_within_the_soft_heap_limit(tmp_path):
    """Many connections reading a store larger than their caches: SQLite's memory, summed over the process,
    stays near :data:`SOFT_HEAP_LIMIT_BYTES` instead of 2 MB of page cache per connection."""
    import ctypes
    import ctypes.util
    import sqlite3

    from shared.db.engine import make_engine
    from shared.db.sqlite import SOFT_HEAP_LIMIT_BYTES

    library = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")  # the one _sqlite3 links
    library.sqlite3_memory_used.restype = ctypes.c_int64
    path = tmp_path / "big.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # a store's connection: the limit is set as it connects
        conn.execute(text("CREATE TABLE page (body TEXT)"))
        conn.execute(text("INSERT INTO page VALUES (:b)"), [{"b": f"{i:04d}" * 1000} for i in range(12_000)])
    readers = [sqlite3.connect(path) for _ in range(2 * SOFT_HEAP_LIMIT_BYTES // (2 * 2**20))]  # twice the limit
    try:
        for reader in readers:  # each fills its own page cache (2 MB by default) with the 48 MB table's pages
            assert reader.execute("SELECT count(*) FROM page WHERE body LIKE '%x%'").fetchone() == (0,)
        assert library.sqlite3_memory_used() < 1.25 * SOFT_HEAP_LIMIT_BYTES
    finally:
        for reader in readers:
            reader.close()
        engine.dispose()


def test_on_sqlite_commits_under_steady_writes_leave_checkpoints_to_the_stores_thread(tmp_path):
    """A commit that checkpoints syncs both files, and on a slow disk its request stalls for it (20-140 ms).
    A store's commits leave checkpoints to its background thread until the WAL holds
    :data:`BACKSTOP_PAGES` frames: past SQLite's default of 1,000 and the earlier backstop of 10,000, which
    under steady writes fell on a request every few seconds (docs/benchmarks.md, twentieth session)."""
    from sqlalchemy import MetaData

    from shared.db.sqlite import BACKSTOP_PAGES

    path = tmp_path / "busy.db"
    store = Store("busy", f"sqlite:///{path}", MetaData())
    assert store._checkpointer is not None
    store._checkpointer.stop()  # the thread behind: only a commit could checkpoint now
    with store.transaction() as session:
        session.execute(text("CREATE TABLE page (body TEXT)"))
    database_bytes = path.stat().st_size
    for n in range(125):  # ~100 pages a commit, 12,500 frames in all
        with store.transaction() as session:
            session.execute(text("INSERT INTO page VALUES (:b)"), [{"b": f"{n:03d}{i:03d}" * 600} for i in range(100)])
    frames = Path(f"{path}-wal").stat().st_size // (4096 + 24)
    try:
        assert 12_000 < frames < BACKSTOP_PAGES
        assert path.stat().st_size == database_bytes  # no commit copied a page into the database
    finally:
        store.dispose()
