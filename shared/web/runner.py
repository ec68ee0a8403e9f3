"""The one way an HTTP route runs its use case: a unit of work on the service's store.

A route hands :class:`Runner` a function of a session (its use case, usually a service-layer
function) and awaits the result. The function runs inside one transaction that commits when it
returns and rolls back when it raises; a :class:`~shared.errors.DomainError` it raises reaches the
app's handler (``shared/web/problems.py``), which answers problem+json. The runner decides where
the work runs (``Store.run``): on SQLite on the event loop, on PostgreSQL on the store's threads.

**A unit of work may run twice.** On SQLite it first runs on the event loop without waiting for the
write lock; if another writer holds it, it stops before writing anything (``WouldWait``) and runs
again on the store's thread. Anything it does outside the database must therefore be safe to
repeat: files are written under their content hash (the same bytes, the same name) and never
removed on failure, messages go through the outbox, and nothing is sent from inside the work.

Usage inside a service's router factory::

    run = Runner(ctx.store)

    @router.post("/tickets/{ticket_id}/rate")
    async def rate(ticket_id: TicketId, body: RateIn, who: Reporter) -> TicketView:
        return await run(workflow.rate, ctx, ticket_id, who.sub, body.rating, body.comment)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection
from sqlmodel import Session

from shared.db.store import Store

P = ParamSpec("P")
T = TypeVar("T")


class Runner:
    """Runs ``fn(session, *args)`` in one transaction of ``store`` for a route."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def __call__(self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A unit of work that may write."""
        return await self.store.run(self._unit, False, fn, args, kwargs)

    async def read(self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A unit of work that only reads: on SQLite it does not queue behind writers."""
        return await self.store.run(self._unit, True, fn, args, kwargs)

    async def rows(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A read written against a connection (Core statements, no ORM session): ``fn(connection, ...)``
        in a read-only transaction (:meth:`Store.reading`), cheaper than :meth:`read` by the session's life."""
        return await self.store.run(self._rows, fn, args, kwargs)

    def _rows(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        with self.store.reading() as connection:
            return fn(connection, *args, **kwargs)

    def _unit(self, readonly: bool, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        with self.store.transaction(readonly=readonly) as session:
            return fn(session, *args, **kwargs)
