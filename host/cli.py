"""The ``linli`` command: run services, migrate stores, mint dev tokens, load demo data, generate docs."""

from __future__ import annotations

import gc
import os
from typing import Annotated

import typer
from rich.console import Console

from host import catalog
from ops.cli import events_app
from services.accounts.cli import app as accounts_app
from services.tickets.cli import app as tickets_app

app = typer.Typer(
    help="Linli 邻里 — community services. Example: `linli run` (all services on :8000).", no_args_is_help=True
)
db_app = typer.Typer(help="Store schemas (Alembic). Example: `linli db upgrade`.")
app.add_typer(db_app, name="db")
app.add_typer(events_app, name="events")
app.add_typer(tickets_app, name="tickets")
app.add_typer(accounts_app, name="accounts")
console = Console()


@app.command()
def run(
    targets: Annotated[
        list[str] | None, typer.Argument(help="all (default), or services: tickets library volunteers notify")
    ] = None,
    host: Annotated[str | None, typer.Option(help="HTTP address (default LINLI_HTTP_HOST or 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (default LINLI_HTTP_PORT or 8000)")] = None,
) -> None:
    """Run services in this process. Example: `linli run` (all) or `linli run tickets --port 8001`."""
    import uvicorn

    from host.redis_boot import RedisUnavailable, resolve_redis
    from shared.config import get_settings
    from shared.observability import setup_logging

    settings = get_settings()
    setup_logging(settings.log_level, settings.log_json)
    try:
        url, private = resolve_redis(settings.redis_url)
    except RedisUnavailable as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if private:
        console.print(f"[yellow]No Redis at {settings.redis_url}; started a private redis-server at {url}[/yellow]")
        settings.redis_url = url
        os.environ["REDIS_URL"] = url
    host, port = host or settings.http_host, port or settings.http_port
    if not _port_free(host, port):
        console.print(f"[red]{host}:{port} is already in use; stop what runs there or choose --port[/red]")
        raise typer.Exit(2)
    runtime = catalog.build_runtime(targets, settings=settings)
    app_ = runtime.build_app()
    gc.freeze()  # what is loaded by now lives as long as the process: keep it out of every full collection
    runtime.settle_heap = True  # and what start-up adds, once it is done (Runtime._settle_heap)
    uvicorn.run(
        app_,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=True,  # behind the gateway: the client's address and scheme (X-Forwarded-For, -Proto)
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@app.command()
def token(
    sub: Annotated[str, typer.Argument(help="principal id, e.g. resident:zhao")],
    role: Annotated[
        list[str], typer.Option("--role", "-r", help="resident staff volunteer team_leader operator partner")
    ],
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    community: Annotated[
        list[str] | None, typer.Option(help="community served or lived in (repeat; * for every community)")
    ] = None,
    team: Annotated[str | None, typer.Option(help="the team a leader leads or a volunteer belongs to")] = None,
    household: Annotated[str | None, typer.Option(help="a resident's household")] = None,
    days: Annotated[int, typer.Option(help="validity in days")] = 30,
) -> None:
    """Mint a bearer token for local use, signed with accounts' active key (its store's, else the
    development key file accounts adopts). Example: `linli token staff:li --role staff --community 北翟营`."""
    from datetime import timedelta

    from shared.web.auth import mint_token

    typer.echo(
        mint_token(
            sub,
            role,
            name=name,
            communities=community,
            team=team,
            household=household,
            ttl=timedelta(days=days),
            signer=_accounts_signer(),
        )
    )


def _accounts_signer():  # -> shared.web.jwks.Signer | None
    """Accounts' active key on this machine (its store), or ``None``: the development key file signs."""
    from services.accounts.service_layer.keys import stored_signer
    from shared.config import get_settings

    settings = get_settings()
    if settings.env == "production":
        console.print("[red]linli token is for development: in production tokens come from signing in[/red]")
        raise typer.Exit(2)
    return stored_signer(settings)


@db_app.command("upgrade")
def db_upgrade(targets: Annotated[list[str] | None, typer.Argument(help="services (default all)")] = None) -> None:
    """Apply migrations to each service's store. Example: `linli db upgrade tickets`."""
    from shared.config import get_settings
    from shared.db.engine import make_engine
    from shared.db.migrations import upgrade

    settings = get_settings()
    for module in catalog.load(targets):
        engine = make_engine(settings.database_url(module.name))
        upgrade(module.name, module.migrations, engine)
        engine.dispose()
        console.print(f"[green]{module.name}[/green]: at head")


@db_app.command("revision")
def db_revision(
    service: Annotated[str, typer.Argument(help="the service whose models changed")],
    message: Annotated[str, typer.Option("-m", "--message", help="what the revision does")],
) -> None:
    """Autogenerate a migration from model changes. Example: `linli db revision tickets -m "add photos"`."""
    import tempfile

    from shared.db.engine import make_engine
    from shared.db.migrations import revision, upgrade

    (module,) = catalog.load([service])
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/{service}.db"
        engine = make_engine(url)
        upgrade(module.name, module.migrations, engine)
        engine.dispose()
        revision(module.name, module.migrations, url, message)


@app.command()
def demo() -> None:
    """Load demo data from the four seed communities (idempotent). Example: `linli demo`."""
    from host.runtime import Runtime
    from shared.config import get_settings
    from shared.web.auth import mint_token

    modules = catalog.load(None)
    runtime = Runtime(modules, settings=get_settings())
    runtime.migrate()
    for ctx in runtime.contexts.values():
        if ctx.module.demo is not None:
            ctx.module.demo(ctx)
            console.print(f"[green]{ctx.name}[/green]: demo data loaded")
    runtime.dispose()
    signer = _accounts_signer()
    console.print("Demo tokens (valid 30 days):")
    for sub, roles in DEMO_PEOPLE.items():
        console.print(f"  [bold]{sub}[/bold] ({', '.join(roles)}): {mint_token(sub, roles, signer=signer)}")


DEMO_PEOPLE = {
    "resident:zhang-xiaosen": ["resident"],
    "resident:zhao-xiaotong": ["resident"],
    "staff:li-yao": ["staff"],
    "volunteer:zhang-xiuqin": ["volunteer", "team_leader"],
    "volunteer:wang-guilan": ["volunteer"],
    "volunteer:liu-shufen": ["volunteer"],
    "volunteer:zhao-meiling": ["volunteer"],
    "operator:ops": ["operator"],
}


@app.command()
def docs(out: Annotated[str, typer.Option(help="docs folder")] = "docs") -> None:
    """Regenerate docs/events/*.json (JSON Schema per event type), docs/asyncapi.json and docs/openapi/*.json."""
    from pathlib import Path

    from host.docs import write_asyncapi, write_event_schemas, write_openapi

    written = write_event_schemas(Path(out) / "events")
    write_asyncapi(Path(out) / "asyncapi.json")
    apis = write_openapi(Path(out) / "openapi")
    console.print(f"wrote {len(written)} event schemas, {out}/asyncapi.json and {len(apis)} OpenAPI documents")


if __name__ == "__main__":
    app()
