"""Cursor pages over a real SQLite table: every row once, in order, across a time key; forged cursors refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, insert, select, types

from shared.errors import Invalid
from shared.web.pages import PageQuery, keyset, page_of


class AwareTime(types.TypeDecorator[datetime]):
    """A decorated time column, as SQLModel models declare them (its python_type is ``object``)."""

    impl = DateTime(timezone=True)
    cache_ok = True


def test_pages_walk_every_row_once_by_time_and_id():
    metadata = MetaData()
    rows = Table("rows", metadata, Column("id", Integer, primary_key=True), Column("at", AwareTime(), nullable=False))
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    with engine.begin() as conn:  # ties on the time: the id breaks them
        conn.execute(insert(rows), [{"id": i, "at": start + timedelta(minutes=i // 3)} for i in range(1, 11)])
    key = [rows.c.at, rows.c.id]
    seen, cursor = [], None
    with engine.connect() as conn:
        for _ in range(10):
            page = PageQuery(limit=4, cursor=cursor)
            found = conn.execute(keyset(select(rows), key, page, descending=True)).all()
            result = page_of(found, page, key=lambda r: (r.at, r.id))
            seen += [r.id for r in result.items]
            cursor = result.next_cursor
            if cursor is None:
                break
    assert seen == list(range(10, 0, -1))


@pytest.mark.parametrize("cursor", ["bm9wZQ", "W10", "WzEsMiwzXQ", "eyJhIjoxfQ", "!!", "WyJ4IiwgMV0"])
def test_forged_cursors_are_refused_as_bad_cursor(cursor):
    metadata = MetaData()
    rows = Table("rows", metadata, Column("id", Integer, primary_key=True), Column("at", AwareTime()))
    with pytest.raises(Invalid) as refused:
        keyset(select(rows), [rows.c.at, rows.c.id], PageQuery(limit=5, cursor=cursor))
    assert refused.value.code == "bad_cursor"
