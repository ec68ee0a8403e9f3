"""Consuming events reliably: parse, dedupe through the inbox, apply, acknowledge.

A service declares an :class:`EventConsumer` (its group, the streams it reads, a handler per
event type). At run time a :class:`ConsumerRuntime` applies batches of stream entries:

* entries that cannot be parsed or validated go straight to the dead-letter stream with a reason;
* events of types the service does not handle are acknowledged and skipped;
* the rest are applied in one database transaction, each recorded in the inbox by its ``source``
  and ``id`` (what names a CloudEvent: two producers may use the same id) so a redelivery has no
  second effect; a handler that raises has its event set aside and the others re-applied;
* a batch handler (:meth:`EventConsumer.handles_batch`) gets consecutive events of its types at
  once; when it raises, they are applied one by one so a bad event still fails alone;
* a handler that raises leaves its entry pending; :mod:`shared.messaging.retry` retries it with
  backoff and dead-letters it after ``max_deliveries``;
* an unreachable store is an outage, not a failing event: the batch is held (its entries stay
  pending with their delivery counts untouched, nothing is acknowledged) and applied again once the
  store answers; meanwhile this group reads nothing new (see :meth:`ConsumerRuntime.wait_for_store`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, cast

import redis.asyncio as aredis
from pydantic import ValidationError
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT, StreamIdT
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlmodel import Session

from shared import tracing
from shared.clock import utcnow
from shared.db.store import Store
from shared.events.envelope import CloudEvent, EventData
from shared.events.registry import InvalidEvent, parse_event, registry
from shared.messaging.inbox import Inbox, event_key
from shared.messaging.streams import EVENT_FIELD, ORIGIN_FIELD, TYPE_FIELD, StreamNames, entry_payload

log = logging.getLogger("linli.consumer")

Handler = Callable[[Any, CloudEvent, Any, Session], None]
BatchHandler = Callable[[Any, list[tuple[CloudEvent, Any]], Session], None]
Work = list[tuple[bytes, CloudEvent, EventData, str]]

CURRENT_STREAM: ContextVar[str | None] = ContextVar("linli_current_stream", default=None)
"""While a handler runs: the stream its event arrived on (for a redriven or replayed event, the
stream it first arrived on). Lets a handler check, e.g., that a partner wrote to its own stream."""


class RejectEvent(Exception):
    """Raised by a handler for an event that can never succeed (wrong source, unknown barcode...).

    The entry goes to the dead-letter stream at once with ``reason``; nothing of the handler's
    work is kept, and no retry is made.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class EventConsumer:
    """What one service consumes: ``group`` reads ``streams`` (logical names) with ``handlers``."""

    group: str
    streams: list[str]
    handlers: dict[str, Handler] = field(default_factory=dict)
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)

    def on(self, *models: type[EventData]) -> Callable[[Handler], Handler]:
        """Decorator: ``handler(ctx, event, data, session)`` applies one event of these types.

        ``ctx`` is the service's context in this process, ``data`` the validated data model,
        ``session`` the open transaction (the inbox row is already in it).
        """

        def register(handler: Handler) -> Handler:
            for model in models:
                self.handlers[model.event_type] = handler
            return handler

        return register

    def handles_batch(self, *models: type[EventData]) -> Callable[[BatchHandler], BatchHandler]:
        """Decorator: ``handler(ctx, events, session)`` applies consecutive ``(event, data)`` pairs of these types.

        The events keep their stream order and are all new (their inbox rows go in with them). If the
        handler raises, the runtime rolls back and applies the same events one at a time (a list of one
        each), so a failing event is retried or dead-lettered alone.
        """

        def register(handler: BatchHandler) -> BatchHandler:
            def one(ctx: Any, event: CloudEvent, data: Any, session: Session) -> None:
                handler(ctx, [(event, data)], session)

            for model in models:
                self.batch_handlers[model.event_type] = handler
                self.handlers[model.event_type] = one
            return handler

        return register

    def stream_keys(self, names: StreamNames) -> list[str]:
        """The Redis keys this group reads: its source streams and its own retry stream."""
        keys = [s if ":" in s and s.startswith(names.prefix + ":") else names.events(s) for s in self.streams]
        return [*keys, names.retry(self.group)]


@dataclass
class BatchOutcome:
    done: list[bytes] = field(default_factory=list)
    skipped: list[bytes] = field(default_factory=list)
    duplicates: list[bytes] = field(default_factory=list)
    failed: dict[bytes, str] = field(default_factory=dict)
    dead: dict[bytes, tuple[str, str]] = field(default_factory=dict)


def dead_letter_fields(
    *, raw: dict[bytes, bytes], stream: str, entry_id: bytes, group: str, deliveries: int, reason: str, error: str
) -> dict[FieldT, EncodableT]:
    """The fields of a dead-letter entry: the original event plus why, where and how often."""
    payload = entry_payload(raw)
    if payload is None:
        payload = json.dumps({k.decode(errors="replace"): v.decode(errors="replace") for k, v in raw.items()}).encode()
    fields: dict[FieldT, EncodableT] = {
        EVENT_FIELD: payload,
        "stream": stream,
        "entry_id": entry_id,
        "group": group,
        "deliveries": deliveries,
        "reason": reason,
        "error": error[:2000],
        "dead_at": utcnow().isoformat(),
    }
    if raw.get(TYPE_FIELD.encode()):
        fields[TYPE_FIELD] = raw[TYPE_FIELD.encode()]
    return fields


class StoreUnreachable(Exception):
    """The consumer's store did not answer (refused, dropped, timed out): apply the batch later."""


_OUTAGE_ERRORS = (OperationalError, InterfaceError, DisconnectionError, StoreUnreachable)


def _looks_like_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) is of the kinds an unreachable store raises.

    Only a hint: SQLite's "no such table" is an ``OperationalError`` too, so the runtime also asks
    the store (:meth:`ConsumerRuntime._store_answers`) before it calls an error an outage.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _OUTAGE_ERRORS):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


class _RunFailed(Exception):
    """A batch handler raised for a run of events (which one is to blame is not known)."""


class _HandlerFailed(Exception):
    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


def _status_of(exc: Exception) -> Any:
    """A :class:`RejectEvent` as it is; any other error as its text."""
    return exc if isinstance(exc, RejectEvent) else f"{exc.__class__.__name__}: {exc}"[:2000]


class ConsumerRuntime:
    """Applies entries for one service's consumer group in one process."""

    def __init__(
        self,
        consumer: EventConsumer,
        store: Store,
        inbox: Inbox,
        redis: aredis.Redis,
        names: StreamNames,
        *,
        consumer_name: str,
        max_event_bytes: int = 256 * 1024,
        dlq_maxlen: int = 100_000,
        metrics: Any = None,
        context: Any = None,
        store_poll_s: float = 0.2,
        store_poll_max_s: float = 5.0,
    ) -> None:
        self.consumer = consumer
        self.context = context
        self.store = store
        self.inbox = inbox
        self.redis = redis
        self.names = names
        self.consumer_name = consumer_name
        self.max_event_bytes = max_event_bytes
        self.dlq_maxlen = dlq_maxlen
        self.metrics = metrics
        self.handled = 0
        self.in_flight: set[bytes] = set()
        self.store_down = False
        """While set, the store did not answer: the reclaimer claims nothing (see :meth:`wait_for_store`)."""
        self.outages = 0
        self.paused_s = 0.0
        self.store_poll_s = store_poll_s
        self.store_poll_max_s = store_poll_max_s
        self._models = registry()

    @property
    def group(self) -> str:
        return self.consumer.group

    async def handle_entries(
        self,
        stream: str,
        entries: list[tuple[bytes, dict[bytes, bytes]]],
        deliveries: dict[bytes, int] | None = None,
        *,
        first_read: bool = False,
    ) -> BatchOutcome:
        """Apply a batch read from ``stream`` and acknowledge what is finished.

        ``first_read``: the entries were just delivered to this group for the first time (not
        reclaimed), so no failure can have been recorded for them.
        """
        ids = [entry_id for entry_id, _ in entries]
        self.in_flight.update(ids)
        try:
            return await self._handle(stream, entries, deliveries or {}, first_read)
        finally:
            self.in_flight.difference_update(ids)

    async def _handle(
        self,
        stream: str,
        entries: list[tuple[bytes, dict[bytes, bytes]]],
        deliveries: dict[bytes, int],
        first_read: bool,
    ) -> BatchOutcome:
        outcome = BatchOutcome()
        work: list[tuple[bytes, CloudEvent, EventData, str]] = []
        raws = dict(entries)
        is_retry = stream == self.names.retry(self.group)
        for entry_id, fields in entries:
            payload = entry_payload(fields)
            try:
                if payload is None:
                    raise InvalidEvent("no_cloudevent", f"entry has no {EVENT_FIELD!r} field")
                envelope, data = self._parse(payload)
            except InvalidEvent as exc:
                outcome.dead[entry_id] = (exc.reason, exc.detail)
                continue
            if envelope.type not in self.consumer.handlers:
                outcome.skipped.append(entry_id)
                continue
            origin = stream
            if is_retry and fields.get(ORIGIN_FIELD.encode()):  # only operators write retry streams
                origin = fields[ORIGIN_FIELD.encode()].decode(errors="replace")
            work.append((entry_id, envelope, data, origin))
        if work:
            applied = await self._apply_when_reachable(stream, work)
            for entry_id, status in applied.items():
                if status == "done":
                    outcome.done.append(entry_id)
                elif status == "duplicate":
                    outcome.duplicates.append(entry_id)
                elif isinstance(status, RejectEvent):
                    outcome.dead[entry_id] = (status.reason, status.detail)
                else:
                    outcome.failed[entry_id] = status
        await self._settle(stream, raws, outcome, deliveries, first_read)
        self.handled += len(outcome.done)
        return outcome

    async def _apply_when_reachable(self, stream: str, work: Work) -> dict[bytes, Any]:
        """:meth:`_apply_batch`, held and tried again for as long as the store is unreachable."""
        while True:
            try:
                return await self.store.run(self._apply_batch, work)
            except StoreUnreachable:
                await self.wait_for_store(stream, [entry_id for entry_id, _, _, _ in work])

    async def wait_for_store(self, stream: str, held: list[bytes]) -> None:
        """Pause until the store answers a ping again, holding the entries ``held`` from ``stream``.

        An outage is not a fault of the events: nothing is acknowledged, no error is recorded and no
        delivery is counted (the entries stay pending to this consumer as they were read). The caller
        does not return meanwhile, so its subscriber reads nothing new. The held entries' idle time is
        reset now and then (``XCLAIM … JUSTID``, which leaves the delivery count alone) so that another
        replica's reclaimer does not take them for a dead consumer's; the reclaimer of this process
        claims nothing while :attr:`store_down` is set. Cancelling (a shutdown) leaves them pending.
        """
        if not self.store_down:
            self.store_down = True
            self.outages += 1
            log.warning("store unreachable: consuming paused", extra={"group": self.group, "stream": stream})
        started = time.monotonic()
        delay = self.store_poll_s
        try:
            while True:
                await asyncio.sleep(delay)
                await self._keep_held(stream, held)
                if await self.store.run(self._store_answers):
                    break
                delay = min(delay * 2, self.store_poll_max_s)
        finally:
            self.paused_s += time.monotonic() - started
        if self.store_down:
            self.store_down = False
            log.warning("store answers again: consuming resumed", extra={"group": self.group, "stream": stream})

    async def _keep_held(self, stream: str, held: list[bytes]) -> None:
        try:
            await self.redis.xclaim(
                stream, self.group, self.consumer_name, 0, cast("list[StreamIdT]", held), justid=True
            )
        except RedisError as exc:  # Redis away as well: the entries stay pending all the same
            log.debug("could not refresh held entries: %s", exc)

    def _store_answers(self) -> bool:
        try:
            self.store.ping()
        except Exception:
            return False
        return True

    def _outage(self, exc: BaseException) -> bool:
        """Whether ``exc`` means the store is unreachable (its kind says so and a ping fails)."""
        return _looks_like_outage(exc) and not self._store_answers()

    def _parse(self, payload: bytes) -> tuple[CloudEvent, EventData]:
        """:func:`parse_event`, with pydantic reading the JSON itself in the common case; whatever
        that refuses goes through ``parse_event``, which gives the reason."""
        if len(payload) <= self.max_event_bytes:
            try:
                envelope = CloudEvent.model_validate_json(payload)
                model = self._models.get(envelope.type)
                if model is not None:
                    return envelope, model.model_validate(envelope.data if envelope.data is not None else {})
            except ValidationError:
                pass
        return parse_event(payload, self.max_event_bytes)

    def _apply_batch(self, work: Work) -> dict[bytes, Any]:
        """Apply a batch in one transaction without savepoints (the fast path).

        When a handler raises, the transaction is rolled back, that event is marked failed (run
        once, as with savepoints) and the rest is applied again. When a batch handler raises, the
        batch is applied again event by event to find the failing one, then batching resumes. Any
        other error (a racing replica's inbox row, a failed commit) falls back to :meth:`_apply`
        with a savepoint per event.
        """
        statuses: dict[bytes, Any] = {}
        remaining = list(work)
        grouped = True
        while remaining:
            try:
                statuses.update(self._try_batch(remaining, grouped=grouped))
                return statuses
            except _RunFailed:
                grouped = False
            except _HandlerFailed as failed:
                if self._outage(failed.error):
                    raise StoreUnreachable(str(failed.error)) from failed.error
                entry_id = remaining[failed.index][0]
                statuses[entry_id] = _status_of(failed.error)
                if not isinstance(failed.error, RejectEvent):
                    self._log_failure(remaining[failed.index][1], failed.error)
                del remaining[failed.index]
                grouped = True
            except Exception as exc:
                if self._outage(exc):
                    raise StoreUnreachable(str(exc)) from exc
                statuses.update(self._apply(remaining))
                return statuses
        return statuses

    def _try_batch(self, work: Work, *, grouped: bool = True) -> dict[bytes, Any]:
        """One transaction for ``work``; with ``grouped``, batch handlers get their runs of events at once."""
        statuses: dict[bytes, Any] = {}
        fresh: list[tuple[int, CloudEvent, EventData, str]] = []
        group, inbox = self.group, self.inbox
        batch_handlers = self.consumer.batch_handlers if grouped else {}
        with self.store.transaction() as session:
            seen = inbox.seen_among(session, group, [event_key(envelope) for _, envelope, _, _ in work])
            for index, (entry_id, envelope, data, origin) in enumerate(work):
                key = event_key(envelope)  # CloudEvents: source and id together name an event
                if key in seen:
                    statuses[entry_id] = "duplicate"
                    continue
                seen.add(key)  # the same event twice in one batch
                fresh.append((index, envelope, data, origin))
                statuses[entry_id] = "done"
            runs = groupby(fresh, key=lambda item: (batch_handlers.get(item[1].type), item[3]))
            for (batch_handler, origin), items in runs:
                if batch_handler is None:
                    for index, envelope, data, _ in items:
                        self._run_one(index, envelope, data, origin, session)
                else:
                    self._run_batch(batch_handler, list(items), origin, session)
            inbox.record_many(
                session, group, [(envelope.source, envelope.id, envelope.type) for _, envelope, _, _ in fresh]
            )
        return statuses

    def _run_one(self, index: int, envelope: CloudEvent, data: EventData, origin: str, session: Session) -> None:
        token = CURRENT_STREAM.set(origin)
        try:
            with tracing.processing(self.group, origin, (envelope,)):
                self.consumer.handlers[envelope.type](self.context, envelope, data, session)
        except IntegrityError:
            raise  # maybe a racing replica's rows: the savepoint path tells duplicates from errors
        except Exception as exc:
            raise _HandlerFailed(index, exc) from exc
        finally:
            CURRENT_STREAM.reset(token)

    def _run_batch(
        self, handler: BatchHandler, items: list[tuple[int, CloudEvent, EventData, str]], origin: str, session: Session
    ) -> None:
        token = CURRENT_STREAM.set(origin)
        try:
            with tracing.processing(self.group, origin, (envelope for _, envelope, _, _ in items)):
                handler(self.context, [(envelope, data) for _, envelope, data, _ in items], session)
        except IntegrityError:
            raise
        except Exception as exc:
            if _looks_like_outage(exc):
                raise  # the caller asks the store whether it is an outage
            if len(items) == 1:
                raise _HandlerFailed(items[0][0], exc) from exc
            raise _RunFailed() from exc
        finally:
            CURRENT_STREAM.reset(token)

    def _log_failure(self, envelope: CloudEvent, exc: Exception) -> None:
        log.warning(
            "handler failed",
            extra={
                "group": self.group,
                "event_id": envelope.id,
                "event_type": envelope.type,
                "correlation_id": envelope.correlationid,
                "error": exc.__class__.__name__,
            },
        )

    def _apply(self, work: Work) -> dict[bytes, Any]:
        """Run handlers in one transaction, a savepoint per event (the careful path).

        Returns entry id -> ``"done"``, ``"duplicate"``, a :class:`RejectEvent`, or an error text.
        """
        statuses: dict[bytes, Any] = {}
        group = self.group
        inbox = self.inbox
        try:
            with self.store.transaction() as session:
                seen = inbox.seen_among(session, group, [event_key(envelope) for _, envelope, _, _ in work])
                for entry_id, envelope, data, origin in work:
                    key = event_key(envelope)
                    if key in seen:
                        statuses[entry_id] = "duplicate"
                        continue
                    seen.add(key)  # the same event twice in one batch
                    token = CURRENT_STREAM.set(origin)
                    try:
                        with session.begin_nested(), tracing.processing(group, origin, (envelope,)):
                            inbox.record(session, group, key, envelope.type)
                            self.consumer.handlers[envelope.type](self.context, envelope, data, session)
                        statuses[entry_id] = "done"
                    except RejectEvent as exc:
                        statuses[entry_id] = exc
                    except IntegrityError as exc:
                        if inbox.seen(session, group, key):
                            statuses[entry_id] = "duplicate"
                        else:
                            statuses[entry_id] = f"{exc.__class__.__name__}: {exc.orig}"[:2000]
                    except Exception as exc:
                        if self._outage(exc):
                            raise StoreUnreachable(str(exc)) from exc
                        statuses[entry_id] = _status_of(exc)
                        self._log_failure(envelope, exc)
                    finally:
                        CURRENT_STREAM.reset(token)
        except Exception as exc:  # the commit itself failed: nothing of this batch happened
            if isinstance(exc, StoreUnreachable) or self._outage(exc):
                raise StoreUnreachable(str(exc)) from exc
            reason = f"{exc.__class__.__name__}: {exc}"[:2000]
            return {entry_id: reason for entry_id, _, _, _ in work}
        return statuses

    async def _settle(
        self,
        stream: str,
        raws: dict[bytes, dict[bytes, bytes]],
        outcome: BatchOutcome,
        deliveries: dict[bytes, int],
        first_read: bool = False,
    ) -> None:
        """Acknowledge finished entries, dead-letter invalid ones, remember why others failed."""
        group = self.group
        finished = outcome.done + outcome.skipped + outcome.duplicates
        if first_read and finished and not outcome.dead and not outcome.failed:
            # the common case: entries delivered for the first time, all settled (no failure can be
            # recorded for them yet, nothing to dead-letter): one XACK, no MULTI/EXEC round
            await self.redis.xack(stream, group, *finished)
            if self.metrics is not None:
                self.metrics.observe_batch(group, outcome)
            return
        pipe = self.redis.pipeline(transaction=True)
        for entry_id, (reason, detail) in outcome.dead.items():
            pipe.xadd(
                self.names.dead_letter,
                dead_letter_fields(
                    raw=raws[entry_id],
                    stream=stream,
                    entry_id=entry_id,
                    group=group,
                    deliveries=deliveries.get(entry_id, 1),
                    reason=reason,
                    error=detail,
                ),
                maxlen=self.dlq_maxlen,
                approximate=True,
            )
            finished.append(entry_id)
        if finished:
            pipe.xack(stream, group, *finished)
            pipe.hdel(self.names.errors(group), *finished)
        if outcome.failed:
            # (the stub's Mapping is invariant in its keys: bytes keys are FieldT ones)
            pipe.hset(self.names.errors(group), mapping=cast("Mapping[FieldT, EncodableT]", outcome.failed))
        if finished or outcome.failed:
            await pipe.execute()
        if self.metrics is not None:
            self.metrics.observe_batch(group, outcome)
        if outcome.dead:
            log.warning(
                "dead-lettered %d invalid entries from %s",
                len(outcome.dead),
                stream,
                extra={"group": group, "reasons": sorted({r for r, _ in outcome.dead.values()})},
            )
