"""Demo data is realistic and idempotent; the Open311 key commands create, list and revoke hashed keys."""

from typer.testing import CliRunner

from services.tickets.cli import app
from tests.tickets.helpers import STAFF


async def test_demo_loads_once_with_artisans_and_seed_tickets(start_runtime, clock, settings):
    async with start_runtime(["tickets"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["tickets"]
        runtime.modules[0].demo(ctx)
        tickets = (await client.get("/api/tickets/tickets", headers=STAFF)).json()["items"]
        roster = (await client.get("/api/tickets/staff", headers=STAFF)).json()["items"]
        runtime.modules[0].demo(ctx)
        assert (await client.get("/api/tickets/tickets", headers=STAFF)).json()["items"] == tickets
        assert (await client.get("/api/tickets/staff", headers=STAFF)).json()["items"] == roster
        assert {t["community"] for t in tickets} == {"北翟营", "明珠花苑"}
        assert any(r["display_name"].startswith("谷春肖") and r["pool"] == "repair_clothes" for r in roster)
        manhole = next(
            c for c in (await client.get("/api/tickets/categories")).json()["items"] if c["code"] == "manhole"
        )
        assert manhole["supervisor"] and manhole["secretary"] == "staff:li-yao"


def test_open311_key_commands(settings, monkeypatch):
    monkeypatch.setenv("LINLI_VAR_DIR", str(settings.var_dir))
    from shared.config import get_settings

    get_settings.cache_clear()
    try:
        runner = CliRunner()
        made = runner.invoke(app, ["create-key", "shijiazhuang-12345"])
        assert made.exit_code == 0, made.output
        key_id = made.output.split()[0].removeprefix("id=")
        plain = made.output.split()[-1]
        assert plain.startswith("o311_")
        listed = runner.invoke(app, ["list-keys"]).output
        assert key_id in listed and "active" in listed and plain not in listed
        db = (settings.var_dir / "tickets.db").read_bytes()
        assert plain.encode() not in db  # stored hashed
        assert runner.invoke(app, ["revoke-key", key_id]).exit_code == 0
        assert "revoked" in runner.invoke(app, ["list-keys"]).output
        assert runner.invoke(app, ["revoke-key", "nope"]).exit_code == 1
    finally:
        get_settings.cache_clear()
