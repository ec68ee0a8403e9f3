"""``linli accounts ...``: a development machine's last sign-in code, key rotation, imports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="邻里账号 accounts: sign-in codes, signing keys, imports", no_args_is_help=True)


def _context():
    """A context on the accounts store, migrated (no Redis: events wait in the outbox for the service's relay)."""
    from services.accounts.module import module
    from shared.clock import Clock
    from shared.config import get_settings
    from shared.db.migrations import upgrade
    from shared.db.store import Store
    from shared.messaging.streams import StreamNames
    from shared.service import ServiceContext

    settings = get_settings()
    store = Store(module.name, settings.database_url(module.name), module.metadata)
    upgrade(module.name, module.migrations, store.engine)
    return ServiceContext(module, settings, store, StreamNames(settings.stream_prefix), Clock(), redis=None)  # type: ignore[arg-type]


@app.command("last-code")
def last_code(phone: Annotated[str, typer.Argument(help="the mobile number that asked for a code")]) -> None:
    """Show the last sign-in code sent to PHONE, on this machine only (development; refused in production).

    The code is read from a file only the service's OS user can read (``<LINLI_VAR_DIR>/accounts-codes``);
    it is never served over HTTP, put in a stream or logged.
    """
    from services.accounts.adapters import codes
    from services.accounts.domain import phones
    from services.accounts.service_layer.register import phone_hash
    from shared.clock import utcnow
    from shared.config import get_settings

    settings = get_settings()
    if settings.env == "production":
        typer.echo("refused under LINLI_ENV=production: codes are only sent through ACCOUNTS_CODE_URL", err=True)
        raise typer.Exit(2)
    try:
        number = phones.normalise(phone)
    except phones.InvalidPhone as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    found = codes.last_code(settings, phone_hash(number))
    if found is None:
        typer.echo("no code was sent to this number on this machine", err=True)
        raise typer.Exit(1)
    code, expires_at = found
    left = int((expires_at - utcnow()).total_seconds())
    typer.echo(code if left > 0 else f"{code} (expired)")


@app.command("rotate-key")
def rotate_key() -> None:
    """Sign with a new key from now on; the previous key stays in the JWKS until its tokens expire."""
    from services.accounts.service_layer import keys

    ctx = _context()
    with ctx.store.transaction() as session:
        row = keys.rotate(session, ctx.clock.now())
        typer.echo(f"signing with kid={row.kid}")
    ctx.store.dispose()


@app.command("import")
def import_table(
    path: Annotated[Path, typer.Argument(help="a CSV or XLSX file of households and residents", exists=True)],
    apply: Annotated[bool, typer.Option("--apply", help="write the changes (default: a dry run)")] = False,
) -> None:
    """Import households and residents as an operator; without --apply only report what would change."""
    from services.accounts.adapters import sheets
    from services.accounts.demo import DEMO
    from services.accounts.service_layer import imports

    ctx = _context()
    table = sheets.rows(path.read_bytes(), path.name)
    try:
        with ctx.store.transaction() as session:
            report = imports.apply(ctx, session, DEMO, table, dry_run=not apply)
    except imports.DryRun as done:
        report = done.report
    ctx.store.dispose()
    for rejected in report.rejected:
        typer.echo(f"row {rejected['row']}: {rejected['reason']}")
    typer.echo(
        f"{'dry run: ' if report.dry_run else ''}{report.rows} rows, {report.households_created} households and "
        f"{report.people_created} people created, {report.people_updated} updated, {report.unchanged} unchanged, "
        f"{report.rejected_total} rejected"
    )
