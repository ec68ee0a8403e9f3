"""``one_of``: a fixed set of values is compiled into the statement once and still selects the right rows."""

from __future__ import annotations

from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select

from shared.db.clauses import one_of

things = Table("thing", MetaData(), Column("id", String, primary_key=True), Column("status", String))


def test_a_fixed_set_needs_no_expansion_at_execution_and_selects_its_rows():
    query = select(things.c.id).where(one_of(things.c.status, ("open", "waiting"))).order_by(things.c.id)
    for dialect in ("sqlite", "postgresql"):
        sql = str(query.compile(dialect=create_engine(f"{dialect}://").dialect))
        assert "POSTCOMPILE" not in sql and sql.count("IN (") == 1  # the placeholders are there from the compile
    engine = create_engine("sqlite://")
    things.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(things),
            [{"id": "a", "status": "open"}, {"id": "b", "status": "closed"}, {"id": "c", "status": "waiting"}],
        )
        assert conn.execute(query).scalars().all() == ["a", "c"]
