"""A service's own store: engine, unit of work, and its outbox/inbox tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import MetaData, text
from sqlmodel import Session

from shared.db.engine import make_engine
from shared.db.sqlite import Checkpointer, on_disk
from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox


class Store:
    """One service's database. ``transaction()`` is the unit of work every use case runs in."""

    def __init__(self, service: str, url: str, metadata: MetaData, outbox: Outbox, inbox: Inbox) -> None:
        self.service = service
        self.url = url
        self.metadata = metadata
        self.outbox = outbox
        self.inbox = inbox
        self.engine = make_engine(url)
        self._checkpointer = Checkpointer(self.engine) if on_disk(self.engine) else None
        self._read_engine = self.engine.execution_options(linli_readonly=True)
        self._after_outbox: list[Callable[[], None]] = []

    def on_outbox_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after each commit that wrote outbox rows (wakes the relay)."""
        self._after_outbox.append(callback)

    @contextmanager
    def transaction(self, readonly: bool = False) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on error.

        ``readonly`` transactions only read: on SQLite they do not queue behind writers.
        """
        with Session(self._read_engine if readonly else self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            if session.info.pop("linli_outbox", False):
                for callback in self._after_outbox:
                    callback()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def create_all(self) -> None:
        """Create tables directly (tests of the domain only; services use :meth:`upgrade`)."""
        self.metadata.create_all(self.engine)

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()
