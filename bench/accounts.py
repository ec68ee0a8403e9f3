"""9) accounts: an XLSX import of 5,000 households (one resident each, with a phone), then the same file again.

The file is what a community office exports: one sheet, a header row, 5,000 rows over 50 buildings
of 4 units. The import is the service's own (``adapters/sheets`` reading the XLSX with openpyxl,
``service_layer/imports.apply`` writing households, people and their PersonRegistered events to the
outbox in one transaction) on a migrated store, timed from the file's bytes to the commit. The second
import of the same bytes must change nothing (households, people and events created: 0), which the
figure's ``passed`` records. On SQLite and, when it answers, PostgreSQL.
"""

from __future__ import annotations

import io
import os
import time

from bench.common import Figure, log, pg_database, temp_dir

HOUSEHOLDS = 5_000


def make_xlsx(households: int) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["社区", "小区", "楼号", "单元", "门牌号", "姓名", "手机号"])
    for i in range(households):
        building, rest = divmod(i, 100)
        unit, door = divmod(rest, 25)
        sheet.append(["明珠花苑", "明珠花苑", building + 1, unit + 1, 101 + door, f"居民{i:05d}", f"137{i:08d}"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _context(url: str, folder):
    from services.accounts.module import module
    from shared.clock import Clock
    from shared.config import Settings
    from shared.db.migrations import upgrade
    from shared.db.store import Store
    from shared.messaging.streams import StreamNames
    from shared.service import ServiceContext

    settings = Settings(var_dir=folder)
    store = Store(module.name, url, module.metadata)
    upgrade(module.name, module.migrations, store.engine)
    return ServiceContext(module, settings, store, StreamNames("bench"), Clock(), redis=None)  # type: ignore[arg-type]


def _import(ctx, content: bytes):
    from services.accounts.adapters import sheets
    from services.accounts.demo import DEMO
    from services.accounts.service_layer import imports, register

    with ctx.store.transaction() as s:
        register.add_community(ctx, s, DEMO, "明珠花苑", "明珠花苑社区", "裕华区")
    started = time.perf_counter()
    table = sheets.rows(content, "households.xlsx")
    with ctx.store.transaction() as s:
        report = imports.apply(ctx, s, DEMO, table, dry_run=False)
    return time.perf_counter() - started, report


def _measure(label: str, url: str, folder, content: bytes) -> list[Figure]:
    ctx = _context(url, folder)
    try:
        first_s, first = _import(ctx, content)
        second_s, second = _import(ctx, content)
    finally:
        ctx.store.dispose()
    changed = second.households_created + second.people_created + second.people_updated
    log(f"accounts import on {label}: {first_s:.1f} s, again {second_s:.1f} s, changed {changed}")
    section = "9 accounts import"
    return [
        Figure(
            section,
            f"XLSX import of {HOUSEHOLDS:,} households on {label}",
            HOUSEHOLDS / first_s,
            "rows/s",
            extra={
                "seconds": round(first_s, 2),
                "households": first.households_created,
                "people": first.people_created,
            },
            goal="every row imported",
            passed=first.households_created == HOUSEHOLDS and first.rejected_total == 0,
        ),
        Figure(
            section,
            f"the same file again on {label}",
            HOUSEHOLDS / second_s,
            "rows/s",
            extra={"seconds": round(second_s, 2), "changed": changed},
            goal="changes nothing",
            passed=changed == 0,
        ),
    ]


def measure(quick: bool) -> list[Figure]:
    content = make_xlsx(HOUSEHOLDS)
    log(f"accounts: XLSX of {HOUSEHOLDS:,} households, {len(content) / 1e6:.1f} MB")
    figures = []
    with temp_dir("accounts") as folder:
        figures += _measure("SQLite", f"sqlite:///{folder / 'accounts.db'}", folder, content)
    if not quick or os.environ.get("LINLI_BENCH_PG"):
        with pg_database("accounts") as url, temp_dir("accounts-pg") as folder:
            figures += _measure("PostgreSQL", url, folder, content)
    return figures
