"""Runs any set of services in one process, Loki-style: all of them (``linli run``) or one.

A service is described by a :class:`ServiceModule`; the :class:`Runtime` gives each one a
:class:`ServiceContext` (its store, clock, stream names, Redis), mounts its HTTP routes under
``/api/<name>``, subscribes its consumer group through FastStream, and runs its outbox relay,
reclaimer and periodic jobs.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Self

from faststream import AckPolicy
from faststream.redis import RedisBatchStreamMessage, StreamSub
from sqlmodel import Session

from shared import tracing
from shared.clock import Clock
from shared.config import Settings, get_settings
from shared.db.migrations import upgrade
from shared.db.store import Store
from shared.messaging.connection import async_client, broker
from shared.messaging.consumer import ConsumerRuntime
from shared.messaging.groups import GroupGuardian, group_exists
from shared.messaging.relay import OutboxRelay
from shared.messaging.retry import Reclaimer
from shared.messaging.streams import StreamNames
from shared.observability import (
    OUTBOX_AGE,
    OUTBOX_BACKLOG,
    OUTBOX_PUBLISHED,
    ConsumerMetrics,
    faststream_prometheus_middleware,
)
from shared.service import ServiceContext, ServiceModule, Ticker, run_ticker
from shared.web.jwks import withdraw_in_process

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

log = logging.getLogger("linli.runtime")

RELAY_GRACE_S = 2.0  # how long a stop waits for the relays' batches in hand (Redis may be down)


class Runtime:
    """Services sharing one process, one HTTP app and one FastStream broker."""

    def __init__(
        self,
        modules: list[ServiceModule],
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
        run_tickers: bool = True,
        extra_routers: list[Callable[[Runtime], APIRouter]] | tuple = (),
    ) -> None:
        self.settings = settings or get_settings()
        service_name = "linli" if len(modules) != 1 else f"linli-{modules[0].name}"
        tracing.configure_from_env(service_name)  # OTEL_*: off unless they ask for it
        self.extra_routers = list(extra_routers)
        self.clock = clock or Clock()
        cluster = self.settings.redis_cluster
        self.names = StreamNames.configured(self.settings.stream_prefix, cluster=cluster)
        self.modules = modules
        self.run_tickers = run_tickers
        self.redis = async_client(self.settings.redis_url, cluster=cluster, socket_connect_timeout=2)
        self.contexts: dict[str, ServiceContext] = {}
        for module in modules:
            store = Store(module.name, self.settings.database_url(module.name), module.metadata)
            self.contexts[module.name] = ServiceContext(
                module, self.settings, store, self.names, self.clock, self.redis
            )
        self.relays: dict[str, OutboxRelay] = {}
        self.consumers: dict[str, ConsumerRuntime] = {}
        self.reclaimers: dict[str, Reclaimer] = {}
        self.guardian = GroupGuardian(self.redis)
        # apply_types=False: FastStream hands the handler its decoded message itself, without
        # fast_depends, which resolved ``msg`` through the sync ``Context.use`` in a worker thread
        # (anyio.to_thread) once per batch (see _batch_handler)
        self.broker = broker(
            self.settings.redis_url,
            cluster=cluster,
            middlewares=[faststream_prometheus_middleware()],
            logger=None,
            apply_types=False,
        )
        for ctx in self.contexts.values():
            self._document_publisher(ctx)
            if ctx.module.consumer is not None:
                self._subscribe(ctx)
        self._tasks: list[asyncio.Task] = []
        self.started = False
        self.settle_heap = False  # a server process (``linli run``) sets it: see :meth:`_settle_heap`

    # -- lifecycle -------------------------------------------------------------------------
    def migrate(self) -> None:
        for ctx in self.contexts.values():
            if ctx.module.migrations is None:  # a module without revisions (tests' probes)
                ctx.store.create_all()
            else:
                upgrade(ctx.name, ctx.module.migrations, ctx.store.engine)

    async def start(self) -> None:
        s = self.settings
        await asyncio.to_thread(self.migrate)
        for ctx in self.contexts.values():
            relay = OutboxRelay(
                ctx.store.engine,
                ctx.module.outbox,
                s.redis_url,
                self.names,
                batch=s.outbox_batch,
                maxlen=s.stream_maxlen,
                retention_hours=s.outbox_retention_hours,
                cluster=s.redis_cluster,
            )
            ctx.store.after_commit("outbox", relay.wake)
            self.relays[ctx.name] = relay
        for ctx in self.contexts.values():
            for hook in ctx.module.on_start:
                result = hook(ctx)
                if asyncio.iscoroutine(result):
                    await result
        await self.guardian.ensure_all()
        await self.broker.start()
        for name, relay in self.relays.items():
            self._spawn(relay.run(), f"relay:{name}")
        for name, reclaimer in self.reclaimers.items():
            self._spawn(reclaimer.run(), f"reclaim:{name}")
        self._spawn(self.guardian.run(), "guardian")
        if self.run_tickers:
            for ctx in self.contexts.values():
                for ticker_name, interval, fn in ctx.module.tickers:
                    self._spawn(self._tick_loop(ctx, fn, interval), f"tick:{ctx.name}:{ticker_name}")
        self.started = True
        if self.settle_heap:
            _settle_heap()

    def _subscribe(self, ctx: ServiceContext) -> None:
        s = self.settings
        consumer = ctx.module.consumer
        runtime = ConsumerRuntime(
            consumer,
            ctx.store,
            ctx.module.inbox,
            self.redis,
            self.names,
            consumer_name=s.consumer_name,
            max_event_bytes=s.max_event_bytes,
            metrics=ConsumerMetrics(),
            context=ctx,
        )
        self.consumers[ctx.name] = runtime
        keys = consumer.stream_keys(self.names)
        self.reclaimers[ctx.name] = Reclaimer(
            runtime,
            keys,
            max_deliveries=s.max_deliveries,
            retry_base_ms=s.retry_base_ms,
            retry_max_ms=s.retry_max_ms,
            claim_idle_ms=s.claim_idle_ms,
            interval_ms=s.reclaim_interval_ms,
        )
        for key in keys:
            subscriber = self.broker.subscriber(
                stream=_Stream(
                    key,
                    group=consumer.group,
                    consumer=s.consumer_name,
                    batch=True,
                    max_records=s.batch_size,
                    polling_interval=1000,
                ),
                ack_policy=AckPolicy.MANUAL,
                parser=_raw_entries_parser,
                decoder=_the_message,
                title=f"{consumer.group}:{key}",
                description=f"{ctx.module.title}: consumer group {consumer.group!r} reads {key}",
            )

            subscriber(_batch_handler(runtime, key))
            self.guardian.watch(key, consumer.group, subscriber)

    def _document_publisher(self, ctx: ServiceContext) -> None:
        """Declare the events a service publishes, so the AsyncAPI document lists their schemas."""
        from shared.events.registry import registry

        source = f"/linli/{ctx.name}"
        for event_type, model in sorted(registry().items()):
            if model.source == source:
                self.broker.publisher(
                    stream=self.names.events(ctx.name),
                    title=f"{self.names.events(ctx.name)}:{model.short_name()}",
                    description=f"{event_type} (CloudEvent JSON in field 'cloudevent', written by the outbox relay)",
                    schema=model,
                )

    async def _tick_loop(self, ctx: ServiceContext, fn: Ticker, interval: float) -> None:
        while self.started:
            try:
                await run_ticker(fn, ctx, self.clock.now())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic job failed", extra={"service": ctx.name})
            await asyncio.sleep(interval)

    def _spawn(self, coro, name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    def dispose(self) -> None:
        """Release the stores of a runtime that was built but never started (documents, checks)."""
        for ctx in self.contexts.values():
            ctx.store.dispose()

    async def stop(self) -> None:
        # Loops also check these flags: a cancellation swallowed inside a client library
        # must not keep a loop (and so the shutdown) alive.
        self.started = False
        self.guardian.stopping = True
        for worker in [*self.relays.values(), *self.reclaimers.values()]:
            worker.stopping = True
        # A relay cancelled while its batch is on the way to Redis leaves those rows published but not
        # marked, so the next start publishes them again; let it finish the batch in hand first.
        for relay in self.relays.values():
            relay.wake()
        relaying = [task for task in self._tasks if task.get_name().startswith("relay:")]
        if relaying:
            await asyncio.wait(relaying, timeout=RELAY_GRACE_S)
        for task in self._tasks:
            task.cancel()
        _done, still_running = await asyncio.wait(self._tasks, timeout=10) if self._tasks else (set(), set())
        for task in still_running:
            log.error("task %s did not stop within 10 s", task.get_name())
        self._tasks.clear()
        if self.broker is not None:
            await self.broker.stop()
        for relay in self.relays.values():
            relay.close()
        for ctx in self.contexts.values():
            withdraw_in_process(ctx)  # accounts' keys stop verifying this process's tokens with it
            ctx.store.dispose()
        await self.redis.aclose()

    @asynccontextmanager
    async def running(self):
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    # -- HTTP ------------------------------------------------------------------------------
    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Store, Redis and consumer groups of every service in this process."""
        checks: dict[str, Any] = {}
        ok = True
        try:
            await self.redis.ping()
            checks["redis"] = "ok"
            checks["redis.persistence"] = await self._redis_persistence()
        except Exception as exc:
            checks["redis"] = f"unreachable: {exc.__class__.__name__}"
            ok = False
        for ctx in self.contexts.values():
            try:
                await asyncio.to_thread(ctx.store.ping)
                checks[f"{ctx.name}.store"] = "ok"
            except Exception as exc:
                checks[f"{ctx.name}.store"] = f"unreachable: {exc.__class__.__name__}"
                ok = False
            consumer = ctx.module.consumer
            if consumer is not None and checks["redis"] == "ok":
                missing = [
                    k for k in consumer.stream_keys(self.names) if not await group_exists(self.redis, k, consumer.group)
                ]
                checks[f"{ctx.name}.groups"] = "ok" if not missing else f"missing on {', '.join(missing)}"
                ok = ok and not missing
        return ok, checks

    async def _redis_persistence(self) -> str:
        """``ok (aof)``/``ok (rdb)``, or a warning (readiness is not failed for it): a Redis without
        persistence loses what it holds when it restarts (docs/operations.md; ``linli events republish``)."""
        try:
            info = await self.redis.info("persistence")
            if int(info.get("aof_enabled", 0)):
                return "ok (aof)"
            save = (await self.redis.config_get("save")).get(b"save", b"")
        except Exception as exc:  # CONFIG refused (a managed Redis): say so rather than guess
            return f"unknown: {exc.__class__.__name__}"
        if save not in (b"", ""):
            return "ok (rdb snapshots: what arrived since the last one can be lost)"
        return "warning: no persistence (a restart loses streams, groups and pending entries)"

    def collect_outbox_metrics(self) -> None:
        for ctx in self.contexts.values():
            relay = self.relays.get(ctx.name)
            try:
                with Session(ctx.store.engine) as session:
                    count, age = ctx.module.outbox.pending_count(session)
            except Exception:
                continue
            OUTBOX_BACKLOG.labels(ctx.name).set(count)
            OUTBOX_AGE.labels(ctx.name).set(age or 0)
            if relay is not None:
                counter = OUTBOX_PUBLISHED.labels(ctx.name)
                counter.inc(max(relay.published - counter._value.get(), 0))

    def build_app(self) -> FastAPI:
        """The HTTP app of this process (see :func:`host.app.build_app`)."""
        from host.app import build_app

        return build_app(self)


def _settle_heap() -> None:
    """Collect what start-up left behind, then freeze what is still alive out of later collections.

    Freezing once the runtime was built (before it started) left the objects of the migrations, the
    broker's and the relays' start to the first full collections under load: 70–130k objects, a
    12–20 ms pause of the event loop and its threads (docs/benchmarks.md, eighth session). Collected
    and frozen after start, a full collection walks only what the requests made since.
    """
    gc.collect()
    gc.freeze()


def _batch_handler(runtime: ConsumerRuntime, key: str):
    """A FastStream handler applying one batch read from ``key``.

    Its only parameter is the message, handed over by :func:`_the_message` (the broker does not apply
    types). Its annotation, FastStream's ``Context("message")``, is what the AsyncAPI document reads: no
    payload of the handler's own (``EmptyPayload``). Resolved by fast_depends, that annotation cost a
    thread hop per batch: ``Context.use`` is sync, so fast_depends (3.0, ``CallModel.asolve``) runs it
    with ``anyio.to_thread.run_sync``, a round trip through a worker thread (and GIL hand-offs with the
    event loop) for every batch, and a batch waits for a free token of anyio's default thread limiter,
    shared with sync routes (docs/benchmarks.md, tenth session).
    """

    async def on_batch(msg: RedisBatchStreamMessage) -> None:
        raw = msg.raw_message
        await runtime.handle_entries(key, list(zip(raw["message_ids"], raw["data"], strict=True)), first_read=True)

    return on_batch


class _Stream(StreamSub[Any]):
    """A consumer group's stream, with its prefixed copy made once.

    FastStream's subscriber reads its ``stream_sub`` property several times per ``XREADGROUP`` and per
    message, and ``StreamSub.add_prefix`` deep-copies the settings each time (FastStream 0.7.8): ~20 µs a
    copy, more than the read of one entry costs in Redis. Nothing changes the copy once made."""

    def add_prefix(self, prefix: str) -> Self:
        made: dict[str, Self] = self.__dict__.setdefault("_prefixed", {})
        found = made.get(prefix)
        if found is None:
            found = made[prefix] = super().add_prefix(prefix)
        return found


async def _raw_entries_parser(msg, original_parser):
    """Hand stream entries to our handler untouched (FastStream would decode and wrap them)."""
    return RedisBatchStreamMessage(raw_message=msg, body=b"", consumer=None, group=None)


async def _the_message(msg: RedisBatchStreamMessage, original_decoder) -> RedisBatchStreamMessage:
    """The "decoded body" FastStream passes to the handler: the message itself (see :func:`_batch_handler`)."""
    return msg
