"""Reading what a community office keeps: CSV (UTF-8, or GB18030 as Excel in China saves it) and XLSX.

Each file gives its rows as ``{column: text}`` with the header row's names, every value as stripped
text; empty rows are skipped. At most :data:`MAX_ROWS` rows are read (an XLSX is read streaming, so a
sheet declaring a million rows is refused before it is held in memory).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime

MAX_ROWS = 50_000


class BadFile(ValueError):
    """A file that cannot be read as a table; the message says why in both languages."""


def rows(content: bytes, filename: str) -> list[tuple[int, dict[str, str]]]:
    """``(row number, values)`` for every non-empty data row; the header is row 1."""
    is_xlsx = filename.lower().endswith(".xlsx") or content[:2] == b"PK"  # XLSX is a zip file
    found = list(_xlsx(content)) if is_xlsx else list(_csv(content))
    if not found:
        raise BadFile("文件为空或没有表头 / the file is empty or has no header row")
    header = [_text(h) for h in found[0]]
    if not any(header):
        raise BadFile("第一行应为表头 / the first row must name the columns")
    out = []
    for number, values in enumerate(found[1:], start=2):
        if number - 1 > MAX_ROWS:
            raise BadFile(f"行数超过 {MAX_ROWS} / more than {MAX_ROWS} rows: split the file")
        cells = {header[i]: _text(v) for i, v in enumerate(values) if i < len(header) and header[i]}
        if any(cells.values()):
            out.append((number, cells))
    return out


def _csv(content: bytes) -> Iterator[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise BadFile("无法识别文件编码 / the file is neither UTF-8 nor GB18030")
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error as exc:
        raise BadFile(f"CSV 格式错误 / not a readable CSV: {exc}") from None


def _xlsx(content: bytes) -> Iterator[tuple[object, ...]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise BadFile(f"无法读取 XLSX / not a readable XLSX file ({exc.__class__.__name__})") from None
    try:
        sheet = book.worksheets[0]
        for i, row in enumerate(sheet.iter_rows(values_only=True)):
            if i > MAX_ROWS + 1:
                raise BadFile(f"行数超过 {MAX_ROWS} / more than {MAX_ROWS} rows: split the file")
            yield row
    finally:
        book.close()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel keeps 5 as 5.0 and phone numbers as numbers
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()
