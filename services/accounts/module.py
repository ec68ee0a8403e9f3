"""Wiring of the accounts service (residents, households, staff and volunteers; signing in) for the runtime."""

from pathlib import Path

from services.accounts.adapters import codes
from services.accounts.adapters.orm import inbox, metadata, outbox
from services.accounts.demo import load
from services.accounts.entrypoints.http import build_root_router, build_router
from services.accounts.jobs import scrub, tick
from services.accounts.service_layer import keys
from shared.service import ServiceContext, ServiceModule
from shared.web import jwks


def _signing_key(ctx: ServiceContext) -> None:
    """Refuse development codes in production; adopt a new development key file or make the first
    signing key, so the JWKS is never empty; then every service of this process verifies by it."""
    codes.refuse_dev_codes_in_production(ctx.settings)
    with ctx.store.transaction() as session:
        keys.adopt(session, ctx.clock.now(), ctx.settings)
        keys.current(session, ctx.clock.now())
    jwks.publish_in_process(ctx, lambda: _published(ctx), ctx.settings.jwks_cache_s)


def _published(ctx: ServiceContext) -> dict[str, object]:
    """The JWKS document as ``/.well-known/jwks.json`` serves it, read from the store in this process."""
    with ctx.store.transaction(readonly=True) as session:
        return {"keys": keys.published(session, ctx.clock.now())}


module = ServiceModule(
    name="accounts",
    title="邻里账号 accounts",
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    consumer=None,
    router=build_router,
    root_router=build_root_router,
    tickers=[("housekeeping", 3600.0, tick), ("erasure", 30.0, scrub)],
    on_start=[_signing_key],
    demo=load,
)
