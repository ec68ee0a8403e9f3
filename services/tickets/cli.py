"""``linli tickets ...``: Open311 API keys (created once, stored hashed, revocable)."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="报事报修 tickets: Open311 API keys", no_args_is_help=True)


def _store():
    from services.tickets.module import module
    from shared.clock import Clock
    from shared.config import get_settings
    from shared.db.migrations import upgrade
    from shared.db.store import Store

    settings = get_settings()
    store = Store(module.name, settings.database_url(module.name), module.metadata)
    upgrade(module.name, module.migrations, store.engine)
    return store, Clock()


@app.command("create-key")
def create_key(name: Annotated[str, typer.Argument(help="the Open311 client, e.g. 'shijiazhuang-12345'")]) -> None:
    """Create an Open311 API key; the key is printed once and only its hash is kept."""
    from services.tickets.service_layer import apikeys

    store, clock = _store()
    with store.transaction() as session:
        row, plain = apikeys.create(session, name, clock.now())
    typer.echo(f"id={row.id} name={row.name}")
    typer.echo(plain)
    store.dispose()


@app.command("revoke-key")
def revoke_key(key_id: Annotated[str, typer.Argument(help="the id shown by create-key / list-keys")]) -> None:
    """Revoke an Open311 API key: POSTs with it answer 403 from now on."""
    from services.tickets.service_layer import apikeys
    from shared.errors import NotFound

    store, clock = _store()
    try:
        with store.transaction() as session:
            apikeys.revoke(session, key_id, clock.now())
    except NotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    finally:
        store.dispose()
    typer.echo(f"revoked {key_id}")


@app.command("list-keys")
def list_keys() -> None:
    """List Open311 API keys (id, client, created, revoked); keys themselves are never shown."""
    from services.tickets.service_layer import apikeys

    store, _clock = _store()
    with store.transaction() as session:
        for row in apikeys.list_keys(session):
            state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
            typer.echo(f"{row.id}\t{row.name}\t{row.created_at:%Y-%m-%d %H:%M}\t{state}")
    store.dispose()


if __name__ == "__main__":  # `python -m services.tickets.cli create-key NAME` before it is mounted as `linli tickets`
    app()
