"""Importing households and residents from a CSV or XLSX file, with a dry run."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from services.accounts.adapters import sheets
from services.accounts.entrypoints.http.deps import Staff
from services.accounts.entrypoints.http.schemas import ImportView
from services.accounts.service_layer import imports
from shared.errors import Invalid, TooLarge
from shared.service import ServiceContext
from shared.web.runner import Runner

MAX_BYTES = 20 * 1024 * 1024


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.post("/imports")
    async def post_import(
        file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or XLSX, header in row 1")],
        who: Staff,
        dry_run: Annotated[bool, Form(description="report what would happen and change nothing")] = True,
    ) -> ImportView:
        """Import households and residents; every rejected row is listed with its reason. Re-import changes nothing."""
        content = await file.read(MAX_BYTES + 1)
        if len(content) > MAX_BYTES:
            raise TooLarge("文件超过 20 MB / the file is over 20 MB", code="file_too_large")
        try:
            table = await asyncio.to_thread(sheets.rows, content, file.filename or "")  # parsing off the loop
        except sheets.BadFile as exc:
            raise Invalid(str(exc), code="bad_file") from None
        try:
            report = await run(lambda s: imports.apply(ctx, s, who, table, dry_run=dry_run))
        except imports.DryRun as done:
            report = done.report
        return ImportView.model_validate(report.__dict__)

    return api
