"""``linli events …``: watch, search, trace and repair the event log from a terminal.

Every command reads ``REDIS_URL`` and ``LINLI_STREAM_PREFIX`` (like the services). Times are shown
in Asia/Shanghai; personal data in events is masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import redis.asyncio as aredis
import typer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rich.console import Console
from rich.json import JSON
from rich.progress import Progress
from rich.table import Table

from ops import dlq as dlq_ops
from ops import republish as republish_ops
from ops.entries import (
    EventFilter,
    StreamEvent,
    event_streams,
    find,
    follow,
    parse_when,
    recent,
    scan,
    server_now_id,
)
from ops.flows import replay as replay_range
from ops.flows import trace as trace_flow
from ops.groups import STALL_AFTER_MS, deliveries_of, group_stats
from shared.clock import utcnow
from shared.config import Settings
from shared.messaging.connection import async_client
from shared.messaging.streams import StreamNames

events_app = typer.Typer(
    help="事件日志运维 / Operate the event log. Example: `linli events tail --type TicketOpened`.",
    no_args_is_help=True,
)
dlq_app = typer.Typer(
    help="死信队列 / Dead letters. Example: `linli events dlq list --group notify`.", no_args_is_help=True
)
events_app.add_typer(dlq_app, name="dlq")

T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON (one object per line) for piping")]


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _run(work: Callable[[aredis.Redis, StreamNames], Awaitable[T]]) -> T:
    """Run ``work(redis, names)`` against the configured Redis and stream prefix."""
    settings = Settings()

    async def main() -> T:
        redis = async_client(
            settings.redis_url,
            cluster=settings.redis_cluster,
            socket_connect_timeout=3,
            client_name=f"linli-events:{settings.stream_prefix}",
        )  # seen in CLIENT LIST
        try:
            return await work(redis, StreamNames.configured(settings.stream_prefix, cluster=settings.redis_cluster))
        finally:
            await redis.aclose()

    try:
        return asyncio.run(main())
    except (RedisConnectionError, RedisTimeoutError) as exc:
        _console().print(f"[red]连不上 Redis / cannot reach Redis at {settings.redis_url}: {exc}[/red]")
        raise typer.Exit(2) from None


def _operator() -> str:
    return f"cli:{os.environ.get('USER') or os.environ.get('USERNAME') or 'operator'}"


def _streams(names: StreamNames, streams: list[str] | None) -> list[str]:
    if not streams:
        return event_streams(names)
    return [s if s.startswith(names.prefix + ":") else names.events(s) for s in streams]


def _filter(types, source, subject, correlation, since, until) -> EventFilter:
    return EventFilter(
        types=list(types or []),
        source=source,
        subject=subject,
        correlation=correlation,
        since=parse_when(since),
        until=parse_when(until),
    )


def _short(value: str, n: int = 8) -> str:
    return value[:n] if value else "-"


def _event_table(events: list[StreamEvent], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    for col in ("时间 time (CST)", "stream", "type", "subject", "source", "corr", "entry id"):
        table.add_column(col, overflow="fold")
    for ev in events:
        table.add_row(
            ev.local_time,
            ev.stream.rsplit(":", 1)[-1],
            ev.short_type if ev.valid else "[red]invalid[/]",
            ev.subject or "-",
            ev.source or "-",
            _short(ev.correlationid),
            ev.entry_id,
        )
    return table


def _line(ev: StreamEvent) -> str:
    return (
        f"{ev.local_time}  {ev.stream.rsplit(':', 1)[-1]:<10} {ev.short_type:<26} {ev.subject or '-':<16} "
        f"corr={_short(ev.correlationid)}  {ev.entry_id}"
    )


def _emit_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, default=str))


# -- tail -----------------------------------------------------------------------------------------
@events_app.command()
def tail(
    streams: Annotated[list[str] | None, typer.Argument(help="tickets library volunteers notify (default all)")] = None,
    type_: Annotated[
        list[str] | None, typer.Option("--type", "-t", help="CloudEvents type or short name; repeatable")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="source, e.g. /linli/tickets (a trailing * matches a prefix)")
    ] = None,
    subject: Annotated[str | None, typer.Option(help="subject, e.g. a ticket id (trailing * = prefix)")] = None,
    correlation: Annotated[str | None, typer.Option("--correlation", "-c", help="correlation id of one flow")] = None,
    since: Annotated[str | None, typer.Option(help="from: 10m, 2h, 1d or an ISO time (naive = Asia/Shanghai)")] = None,
    until: Annotated[str | None, typer.Option(help="to: same forms as --since (implies --no-follow)")] = None,
    last: Annotated[int, typer.Option(help="how many past events to show first")] = 20,
    follow_: Annotated[bool, typer.Option("--follow/--no-follow", "-f/-F", help="keep watching for new events")] = True,
    count: Annotated[int | None, typer.Option(help="stop after this many new events")] = None,
    wait: Annotated[float | None, typer.Option(help="stop after this many seconds of following")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show recent events, then follow new ones live.

    Example: `linli events tail tickets -t TicketOpened --since 1h` or `linli events tail --json | jq .event.type`.
    """
    flt = _filter(type_, source, subject, correlation, since, until)
    out = _console()

    async def work(redis: aredis.Redis, names: StreamNames) -> None:
        keys = _streams(names, streams)
        start = await server_now_id(redis)  # follow from here, so nothing falls between history and live
        history = await (scan(redis, keys, flt, limit=last) if flt.since else recent(redis, keys, flt, limit=last))
        shown = {(ev.stream, ev.entry_id) for ev in history}
        if as_json:
            for ev in history:
                _emit_json(ev.as_dict())
        elif history:
            out.print(_event_table(history))
        if not follow_ or until:
            return
        if not as_json:
            out.print("[dim]… 等待新事件 / following new events (Ctrl-C to stop)[/dim]")
        seen, loop = 0, asyncio.get_running_loop()
        deadline = loop.time() + wait if wait else None
        live = EventFilter(types=flt.types, source=flt.source, subject=flt.subject, correlation=flt.correlation)
        async for ev in follow(redis, keys, live, block_ms=500, start=start):
            if ev is not None and (ev.stream, ev.entry_id) not in shown:
                _emit_json(ev.as_dict()) if as_json else out.print(_line(ev), markup=False)
                seen += 1
                if count and seen >= count:
                    return
            if deadline and loop.time() > deadline:
                return

    with contextlib.suppress(KeyboardInterrupt):
        _run(work)


# -- show -----------------------------------------------------------------------------------------
@events_app.command()
def show(
    ref: Annotated[str, typer.Argument(help="CloudEvent id, stream entry id, or stream/entry-id")],
    as_json: JsonOpt = False,
) -> None:
    """One event in full, with the consumer groups that acknowledged it and those still pending.

    Example: `linli events show 1764295200123-0` or `linli events show 6f1c…-uuid`.
    """

    async def work(redis, names):
        ev = await find(redis, names, ref)
        return ev, (await deliveries_of(redis, names, ev) if ev else [])

    ev, deliveries = _run(work)
    if ev is None:
        _console().print(f"[red]找不到事件 / no event {ref}[/red]")
        raise typer.Exit(1)
    if as_json:
        _emit_json({**ev.as_dict(), "groups": [d.__dict__ for d in deliveries]})
        return
    out = _console()
    out.print(f"[bold]{ev.short_type}[/bold]  {ev.stream} {ev.entry_id}  {ev.local_time} CST")
    out.print(JSON.from_data(ev.event, ensure_ascii=False))
    table = Table(title="消费组 / consumer groups")
    for col in ("group", "state", "consumer", "deliveries", "error"):
        table.add_column(col, overflow="fold")
    for d in deliveries:
        colour = {"acknowledged": "green", "pending": "yellow", "dead-lettered": "red"}.get(d.state, "dim")
        table.add_row(d.group, f"[{colour}]{d.state}[/]", d.consumer or "-", str(d.deliveries or "-"), d.error or "")
    out.print(table)


# -- groups ---------------------------------------------------------------------------------------
@events_app.command()
def groups(
    stall_after: Annotated[
        int, typer.Option(help="seconds without progress before a group is flagged")
    ] = STALL_AFTER_MS // 1000,
    as_json: JsonOpt = False,
) -> None:
    """Lag, pending, oldest pending age, consumers and their idle time for every stream and group.

    A group with work waiting and no consumer moving for --stall-after seconds is flagged STALLED.
    Example: `linli events groups --stall-after 30`.
    """
    stats = _run(lambda redis, names: group_stats(redis, names, stall_after_ms=stall_after * 1000))
    if as_json:
        for s in stats:
            _emit_json(s.as_dict())
        return
    table = Table(title="消费组 / consumer groups")
    for col in (
        "stream",
        "group",
        "lag",
        "pending",
        "oldest pending",
        "max deliveries",
        "dead letters",
        "consumers (idle)",
        "status",
    ):
        table.add_column(col, overflow="fold")
    for s in stats:
        consumers = ", ".join(f"{c.name} ({c.idle_ms // 1000}s)" for c in s.consumers) or "-"
        oldest = f"{s.oldest_pending_ms / 1000:.1f}s" if s.oldest_pending_ms is not None else "-"
        status = f"[red]STALLED[/] {s.stalled}" if s.stalled else "[green]ok[/]"
        tries = f"{s.max_deliveries} ({s.retried} retried)" if s.retried else str(s.max_deliveries or "-")
        table.add_row(
            s.stream,
            s.group,
            "?" if s.lag is None else str(s.lag),
            str(s.pending),
            oldest,
            tries,
            str(s.dead_letters),
            consumers,
            status,
        )
    _console().print(table)


# -- dlq ------------------------------------------------------------------------------------------
GroupOpt = Annotated[str | None, typer.Option("--group", "-g", help="consumer group that failed, e.g. notify")]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="reason code, e.g. handler_failed (trailing * = prefix)")
]
TypeOpt = Annotated[str | None, typer.Option("--type", "-t", help="event type or short name")]


@dlq_app.command("list")
def dlq_list(
    group: GroupOpt = None,
    reason: ReasonOpt = None,
    type_: TypeOpt = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Dead-lettered entries with reason, error, group and delivery count.

    Example: `linli events dlq list --group notify --reason handler_failed`.
    """
    items = _run(lambda r, n: dlq_ops.list_dead(r, n, dlq_ops.DlqFilter(group, reason, type_), limit=limit))
    if as_json:
        for d in items:
            _emit_json(d.as_dict())
        return
    table = Table(title=f"死信 / dead letters: {len(items)}")
    for col in ("dead id", "group", "type", "subject", "reason", "deliveries", "error"):
        table.add_column(col, overflow="fold")
    for d in items:
        table.add_row(
            d.id, d.group, d.entry.short_type, d.entry.subject or "-", d.reason, str(d.deliveries), d.error[:120]
        )
    _console().print(table)


@dlq_app.command("show")
def dlq_show(dead_id: Annotated[str, typer.Argument(help="dead-letter entry id")], as_json: JsonOpt = False) -> None:
    """One dead letter in full. Example: `linli events dlq show 1764295200999-0`."""
    d = _run(lambda r, n: dlq_ops.get_dead(r, n, dead_id))
    if d is None:
        _console().print(f"[red]没有该死信 / no dead letter {dead_id}[/red]")
        raise typer.Exit(1)
    if as_json:
        _emit_json(d.as_dict())
        return
    out = _console()
    out.print(
        f"[bold]{d.entry.short_type}[/bold] dead-lettered by [bold]{d.group}[/bold] after {d.deliveries} "
        f"deliveries: {d.reason}"
    )
    out.print(f"error: {d.error}", markup=False)
    out.print(f"from {d.get('stream')} {d.get('entry_id')} at {d.get('dead_at')}", markup=False)
    out.print(JSON.from_data(d.entry.event, ensure_ascii=False))


def _select(ids: list[str] | None, group, reason, type_, all_: bool) -> Callable:
    if not ids and not (group or reason or type_ or all_):
        _console().print(
            "[red]给出死信 id、筛选条件或 --all / give ids, a filter (--group/--reason/--type) or --all[/red]"
        )
        raise typer.Exit(2)

    async def pick(redis, names) -> list[str]:
        if ids:
            return list(ids)
        return [d.id for d in await dlq_ops.list_dead(redis, names, dlq_ops.DlqFilter(group, reason, type_))]

    return pick


@dlq_app.command("redrive")
def dlq_redrive(
    ids: Annotated[list[str] | None, typer.Argument(help="dead-letter ids (or use a filter / --all)")] = None,
    group: GroupOpt = None,
    reason: ReasonOpt = None,
    type_: TypeOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="every dead letter")] = False,
) -> None:
    """Send dead letters back to the group that failed them (its inbox prevents a second effect).

    Example: `linli events dlq redrive 1764295200999-0` or `linli events dlq redrive --group notify`.
    """
    pick = _select(ids, group, reason, type_, all_)

    async def work(redis, names):
        chosen = await pick(redis, names)
        with Progress(console=_console(), transient=True) as bar:
            task = bar.add_task("redrive", total=len(chosen))
            return await dlq_ops.redrive(
                redis, names, chosen, operator=_operator(), progress=lambda n: bar.advance(task, n)
            )

    done = _run(work)
    _console().print(f"[green]已重投 / redriven: {len(done)}[/green]")


@dlq_app.command("discard")
def dlq_discard(
    ids: Annotated[list[str] | None, typer.Argument(help="dead-letter ids (or use a filter / --all)")] = None,
    reason_text: Annotated[
        str, typer.Option("--why", "-m", help="why it is dropped (required, kept in the audit log)")
    ] = "",
    group: GroupOpt = None,
    reason: ReasonOpt = None,
    type_: TypeOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="every dead letter")] = False,
) -> None:
    """Drop dead letters for good; the reason and who did it are kept in <prefix>:dlq:discarded.

    Example: `linli events dlq discard 1764295200999-0 -m "测试数据 / test data from the drill"`.
    """
    if not reason_text.strip():
        _console().print("[red]丢弃需要原因 / --why is required[/red]")
        raise typer.Exit(2)
    pick = _select(ids, group, reason, type_, all_)

    async def work(redis, names):
        return await dlq_ops.discard(redis, names, await pick(redis, names), reason=reason_text, operator=_operator())

    _console().print(f"[yellow]已丢弃 / discarded: {_run(work)}[/yellow]")


# -- replay ---------------------------------------------------------------------------------------
@events_app.command()
def replay(
    stream: Annotated[str, typer.Argument(help="stream to read: tickets, library, volunteers, notify")],
    group: Annotated[str, typer.Option("--group", "-g", help="the one consumer group to re-deliver to")],
    since: Annotated[str, typer.Option(help="from: 10m, 2h, 1d or an ISO time")],
    until: Annotated[str | None, typer.Option(help="to (default now)")] = None,
    type_: Annotated[list[str] | None, typer.Option("--type", "-t", help="only these types")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only count what would be replayed")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask after the count")] = False,
) -> None:
    """Re-deliver a time range of a stream to one group; counts first, then asks.

    Example: `linli events replay tickets --group notify --since "2026-11-28T09:00" --until 1h`.
    """
    flt = _filter(type_, None, None, None, since, until)
    count = _run(lambda r, n: replay_range(r, n, stream, group, flt, dry_run=True))
    out = _console()
    out.print(f"将重放 / would replay: [bold]{count}[/bold] entries of {stream} to group {group}")
    if dry_run or count == 0:
        return
    if not yes and not typer.confirm("继续 / go ahead?"):
        raise typer.Exit(1)

    async def work(redis, names):
        with Progress(console=out, transient=True) as bar:
            task = bar.add_task("replay", total=count)
            return await replay_range(
                redis,
                names,
                stream,
                group,
                flt,
                dry_run=False,
                operator=_operator(),
                progress=lambda n: bar.advance(task, n),
            )

    out.print(f"[green]已重放 / replayed: {_run(work)}[/green]")


# -- republish ------------------------------------------------------------------------------------
@events_app.command()
def republish(
    service: Annotated[str, typer.Argument(help="the service whose outbox to publish again: tickets, library, …")],
    since: Annotated[str, typer.Option(help="rows sent from: 10m, 2h, 1d or an ISO time (naive = Asia/Shanghai)")],
    until: Annotated[str | None, typer.Option(help="rows sent before (default now)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only count what would be published")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask after the count")] = False,
) -> None:
    """Publish a service's kept outbox rows (sent within a time range) to their streams again.

    For a Redis that came back without what it held (no persistence, or a snapshot older than the
    crash). Consumers' inboxes skip what they already applied. Reads ``<SERVICE>_DATABASE_URL``
    (or the SQLite file under ``LINLI_VAR_DIR``), ``REDIS_URL`` and ``LINLI_STREAM_PREFIX``.
    Example: `linli events republish tickets --since "2026-11-28T09:00"`.
    """
    settings = Settings()
    out = _console()
    window = republish_ops.Window(since=parse_when(since) or utcnow(), until=parse_when(until))
    try:
        engine = republish_ops.open_store(service, settings.database_url(service))
    except republish_ops.NoOutbox as exc:
        out.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    try:
        count = republish_ops.count_sent(engine, window)
        out.print(f"将重新发布 / would republish: [bold]{count}[/bold] outbox rows of {service}")
        if dry_run or count == 0:
            return
        if not yes and not typer.confirm("继续 / go ahead?"):
            raise typer.Exit(1)

        async def work(redis, names):
            with Progress(console=out, transient=True) as bar:
                task = bar.add_task("republish", total=count)
                return await republish_ops.republish(
                    engine, redis, names, window, maxlen=settings.stream_maxlen, progress=lambda n: bar.advance(task, n)
                )

        out.print(f"[green]已重新发布 / republished: {_run(work)}[/green]")
    finally:
        engine.dispose()


# -- trace ----------------------------------------------------------------------------------------
@events_app.command()
def trace(
    correlation_id: Annotated[str, typer.Argument(help="correlation id (or the id of the flow's first event)")],
    since: Annotated[str | None, typer.Option(help="only look this far back (faster on long streams), e.g. 1d")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The causal chain of one flow across every stream, in order, with the time between hops.

    Example: `linli events trace 0b7c…` → TicketOpened → NotificationSent (+38 ms).
    """
    hops = _run(lambda r, n: trace_flow(r, n, correlation_id, EventFilter(since=parse_when(since))))
    if as_json:
        for hop in hops:
            _emit_json(hop.as_dict())
        return
    if not hops:
        _console().print(f"[red]没有该流程的事件 / no events with correlation id {correlation_id}[/red]")
        raise typer.Exit(1)
    table = Table(title=f"追踪 / trace {correlation_id}")
    for col in ("+ms", "hop", "event", "stream", "subject", "source", "entry id"):
        table.add_column(col, overflow="fold")
    for hop in hops:
        ev = hop.event
        arrow = "  " * hop.depth + ("└→ " if hop.cause else "")
        after = f"{hop.cause.short_type} → {ev.short_type} {hop.after_ms:.0f} ms" if hop.cause else "start"
        table.add_row(
            f"{hop.since_start_ms:.0f}",
            after,
            arrow + ev.short_type,
            ev.stream.rsplit(":", 1)[-1],
            ev.subject or "-",
            ev.source,
            ev.entry_id,
        )
    _console().print(table)
