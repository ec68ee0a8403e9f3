"""`linli events …` against real Redis, with events produced by the tickets and notify services."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from ops.cli import events_app
from ops.entries import recent
from tests.conftest import eventually
from tests.ops.flows import (
    consumer_outage,
    dead_letter_count,
    open_ticket,
    record_notification_sent,
    staff_inbox_titles,
    staff_on_duty,
)


def cli_runner(settings):
    runner = CliRunner()
    env = {
        "REDIS_URL": settings.redis_url,
        "LINLI_STREAM_PREFIX": settings.stream_prefix,
        "COLUMNS": "250",
        "USER": "ops-test",
    }

    async def run(*args: str, input: str | None = None):
        result = await asyncio.to_thread(runner.invoke, events_app, list(args), env=env, input=input)
        return result

    return run


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


async def opened_events(runtime, n: int):
    keys = [runtime.names.events("tickets")]
    return await eventually(lambda: _at_least(recent(runtime.redis, keys, limit=50), n))


async def _at_least(coro, n):
    found = await coro
    return found if len(found) >= n else None


async def test_tail_filters_show_and_groups(start_runtime, settings):
    cli = cli_runner(settings)
    async with start_runtime(["tickets", "notify"]) as (runtime, client):
        await staff_on_duty(client)
        first = await open_ticket(client, "井盖松动")
        second = await open_ticket(client, "路灯不亮", building="7")
        await eventually(lambda: _len_at_least(staff_inbox_titles(client), 2))

        r = await cli("tail", "tickets", "--type", "TicketOpened", "--subject", second, "--no-follow", "--json")
        assert r.exit_code == 0, r.output
        rows = json_lines(r.output)
        assert [row["event"]["subject"] for row in rows] == [second]
        assert rows[0]["event"]["type"] == "cn.linli.tickets.TicketOpened.v1"
        assert "13812345678" not in r.output  # nothing personal in events, masked if it were

        r = await cli("tail", "--no-follow", "--type", "TicketClosed")
        assert r.exit_code == 0 and first not in r.output

        r = await cli("tail", "--no-follow", "--source", "/linli/tickets")
        assert r.exit_code == 0, r.output
        assert first in r.output and second in r.output and "TicketOpened" in r.output

        # live: a tail started now prints the next ticket and stops after one event
        tail = asyncio.create_task(cli("tail", "--last", "0", "--count", "1", "--wait", "20", "--json"))
        await eventually(lambda: _tail_follows(runtime.redis, settings.stream_prefix), timeout=20)
        third = await open_ticket(client, "电梯异响")
        r = await tail
        assert r.exit_code == 0, r.output
        assert [row["event"]["subject"] for row in json_lines(r.output)] == [third]

        entry = rows[0]["entry_id"]
        r = await cli("show", entry)
        assert r.exit_code == 0, r.output
        assert "TicketOpened" in r.output and second in r.output
        assert "notify" in r.output and "acknowledged" in r.output
        r = await cli("show", rows[0]["event"]["id"], "--json")
        shown = json.loads(r.output)
        assert shown["entry_id"] == entry
        assert {"group": "notify", "state": "acknowledged"}.items() <= shown["groups"][0].items()
        r = await cli("show", "0-1")
        assert r.exit_code == 1 and "no event" in r.output

        r = await cli("groups", "--json")
        stats = {(s["stream"], s["group"]): s for s in json_lines(r.output)}
        tickets_notify = stats[(f"{settings.stream_prefix}:tickets", "notify")]
        assert tickets_notify["lag"] == 0 and tickets_notify["pending"] == 0 and tickets_notify["stalled"] is None
        assert tickets_notify["consumers"][0]["name"] == "c1"
        r = await cli("groups")
        assert r.exit_code == 0 and "notify" in r.output and "ok" in r.output


async def _tail_follows(redis, prefix) -> bool:
    """The tail's connection (named after the prefix) is blocked in XREAD."""
    return any(c.get("name") == f"linli-events:{prefix}" and c.get("cmd") == "xread" for c in await redis.client_list())


async def _len_at_least(coro, n):
    return len(await coro) >= n


async def test_groups_flags_a_group_that_stopped_moving(start_runtime, settings):
    cli = cli_runner(settings)
    async with start_runtime(["tickets", "notify"]) as (runtime, client):
        await staff_on_duty(client)
        await open_ticket(client, "井盖松动")
        await eventually(lambda: _len_at_least(staff_inbox_titles(client), 1))
    # notify is stopped; tickets keeps producing
    async with start_runtime(["tickets"]) as (runtime, client):
        await open_ticket(client, "路灯不亮")
        await opened_events(runtime, 2)
        r = await cli("groups", "--stall-after", "0", "--json")
        stats = {(s["stream"], s["group"]): s for s in json_lines(r.output)}
        stuck = stats[(f"{settings.stream_prefix}:tickets", "notify")]
        assert stuck["lag"] == 1
        assert "idle" in stuck["stalled"]
        r = await cli("groups", "--stall-after", "0")
        assert "STALLED" in r.output


async def test_dead_letters_redrive_and_discard(start_runtime, settings):
    cli = cli_runner(settings)
    async with start_runtime(["tickets", "notify"], max_deliveries=2) as (runtime, client):
        await staff_on_duty(client)
        names = runtime.names
        with consumer_outage(runtime.contexts["notify"]):
            lost = await open_ticket(client, "井盖松动")
            dropped = await open_ticket(client, "测试工单")
            await eventually(lambda: _eq(dead_letter_count(runtime.redis, names), 2), timeout=15)

        r = await cli("dlq", "list", "--group", "notify", "--json")
        dead = {d["event"]["subject"]: d for d in json_lines(r.output)}
        assert set(dead) == {lost, dropped}
        assert dead[lost]["reason"] == "handler_failed" and dead[lost]["deliveries"] == 2
        assert "inbox" in dead[lost]["error"]
        r = await cli("dlq", "list")
        assert "handler_failed" in r.output and "TicketOpened" in r.output
        r = await cli("dlq", "show", dead[lost]["id"])
        assert r.exit_code == 0 and lost in r.output and "notify" in r.output

        r = await cli("dlq", "discard", dead[dropped]["id"])
        assert r.exit_code == 2 and "--why" in r.output
        r = await cli("dlq", "redrive")
        assert r.exit_code == 2

        r = await cli("dlq", "redrive", dead[lost]["id"])
        assert r.exit_code == 0 and "redriven: 1" in r.output, r.output
        titles = await eventually(lambda: _with(staff_inbox_titles(client), "井盖松动"))
        assert sum("井盖松动" in t for t in titles) == 1
        # a second redrive of the same event (say, from an old copy) has no second effect
        r = await cli("replay", "tickets", "--group", "notify", "--since", "10m", "--type", "TicketOpened", "--yes")
        assert r.exit_code == 0 and "would replay: 2" in r.output and "replayed: 2" in r.output
        # the replayed TicketOpened of the discarded flow reaches staff, the redriven one does not repeat
        titles = await eventually(lambda: _with(staff_inbox_titles(client), "测试工单"))
        assert sum("井盖松动" in t for t in titles) == 1

        r = await cli("dlq", "discard", dead[dropped]["id"], "--why", "演练数据 / drill data")
        assert r.exit_code == 0 and "discarded: 1" in r.output
        assert await dead_letter_count(runtime.redis, names) == 0
        audit = await runtime.redis.xrange(f"{names.dead_letter}:discarded")
        assert audit[0][1][b"discard_reason"] == "演练数据 / drill data".encode()
        assert audit[0][1][b"discarded_by"] == b"cli:ops-test"


async def _eq(coro, n):
    return (await coro) == n


async def _with(coro, text):
    """The staff inbox titles once one of them mentions ``text``."""
    titles = await coro
    return titles if any(text in t for t in titles) else None


async def test_replay_dry_run_counts_and_writes_nothing(start_runtime, settings):
    cli = cli_runner(settings)
    async with start_runtime(["tickets"]) as (runtime, client):
        for title in ("井盖松动", "路灯不亮", "电梯异响"):
            await open_ticket(client, title)
        await opened_events(runtime, 3)
        r = await cli("replay", "tickets", "--group", "notify", "--since", "10m", "--dry-run")
        assert r.exit_code == 0 and "would replay: 3" in r.output
        assert await runtime.redis.exists(runtime.names.retry("notify")) == 0
        r = await cli("replay", "tickets", "--group", "notify", "--since", "10m", input="n\n")
        assert r.exit_code == 1
        assert await runtime.redis.exists(runtime.names.retry("notify")) == 0
        r = await cli("replay", "tickets", "--group", "notify", "--since", "1d", "--until", "1h", "--dry-run")
        assert "would replay: 0" in r.output


async def test_trace_follows_a_flow_across_streams(start_runtime, settings):
    cli = cli_runner(settings)
    async with start_runtime(["tickets", "notify"]) as (runtime, client):
        await staff_on_duty(client)
        ticket = await open_ticket(client, "井盖松动")
        await open_ticket(client, "另一件事")
        opened = next(e for e in await opened_events(runtime, 2) if e.subject == ticket)
        await eventually(lambda: _len_at_least(staff_inbox_titles(client), 2))
        # notify records that it told staff, caused by the TicketOpened (as a delivery would)
        cause = record_notification_sent(runtime, opened, ticket)
        r = await eventually(lambda: _traced(cli, opened.correlationid, 2))
        hops = json_lines(r.output)
        assert [h["event"]["type"].split(".")[-2] for h in hops][:2] == ["TicketOpened", "NotificationSent"]
        sent = [h for h in hops if h["event"]["type"].endswith("NotificationSent.v1") and h["cause_id"] == cause.id]
        assert sent and sent[0]["after_ms"] >= 0 and sent[0]["depth"] == 1
        assert all(h["event"]["subject"] == ticket for h in hops)
        r = await cli("trace", opened.correlationid)
        assert r.exit_code == 0 and "TicketOpened → NotificationSent" in r.output
        r = await cli("trace", opened.correlationid[:8])  # as `tail` shows it
        assert r.exit_code == 0 and "TicketOpened → NotificationSent" in r.output
        r = await cli("trace", "no-such-flow")
        assert r.exit_code == 1


async def _traced(cli, correlation, n):
    r = await cli("trace", correlation, "--json")
    return r if len(json_lines(r.output)) >= n else None


async def test_a_failing_entry_shows_as_pending_with_its_error(start_runtime, settings):
    cli = cli_runner(settings)
    async with start_runtime(["tickets", "notify"], max_deliveries=1000) as (runtime, client):
        await staff_on_duty(client)
        with consumer_outage(runtime.contexts["notify"]):
            ticket = await open_ticket(client, "井盖松动")
            opened = (await opened_events(runtime, 1))[0]
            stream = f"{settings.stream_prefix}:tickets"

            async def retried():
                r = await cli("groups", "--json")
                stats = {(s["stream"], s["group"]): s for s in json_lines(r.output)}
                s = stats.get((stream, "notify"))
                return s if s and s["pending"] == 1 and s["max_deliveries"] >= 2 else None

            stats = await eventually(retried, timeout=15)
            assert stats["oldest_pending_ms"] >= 0 and stats["retried"] == 1
            r = await cli("show", opened.entry_id, "--json")
            (notify,) = [g for g in json.loads(r.output)["groups"] if g["group"] == "notify"]
            assert notify["state"] == "pending" and notify["consumer"] == "c1" and notify["deliveries"] >= 2
            assert "inbox" in notify["error"]
            assert json.loads(r.output)["event"]["subject"] == ticket
        await eventually(lambda: _len_at_least(staff_inbox_titles(client), 1), timeout=15)
        r = await cli("show", opened.entry_id, "--json")
        assert [g["state"] for g in json.loads(r.output)["groups"] if g["group"] == "notify"] == ["acknowledged"]


async def test_personal_data_typed_into_an_event_is_masked(start_runtime, settings):
    cli = cli_runner(settings)
    async with start_runtime(["tickets"]) as (runtime, client):
        ticket = await open_ticket(client, "请回电13812345678，身份证110105194912310025")
        await opened_events(runtime, 1)
        r = await cli("tail", "--no-follow", "--json")
        (row,) = json_lines(r.output)
        assert row["event"]["data"]["title"] == "请回电138****5678，身份证110105********0025"
        r = await cli("show", row["entry_id"])
        assert "13812345678" not in r.output and "138****5678" in r.output
        assert "110105194912310025" not in r.output and ticket in r.output


def test_an_unreachable_redis_is_reported_not_a_traceback():
    from tests.support.redis_server import free_port

    r = CliRunner().invoke(events_app, ["groups"], env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert r.exit_code == 2 and "cannot reach Redis" in r.output
