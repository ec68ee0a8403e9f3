"""The migration every service's inbox takes: a ``source`` column in the inbox's primary key.

CloudEvents names an event by `source` and `id` together; the inbox keyed rows by (consumer_group, event_id)
alone, so an event from one producer (partner library B's BookReturned, say) whose id another producer
(partner A) had used before was acknowledged with no effect and no dead letter. The key becomes
(consumer_group, event_id, source): the lookup by (group, id) stays a prefix of it.

Existing rows get `source = ''` (the column's server default, the mark of a row recorded without one). The
inbox (`shared/messaging/inbox.py`) reads `''` as "recorded before sources were kept" and matches such a row
to its id from any source. Why not a producer's source: the rows do not say which producer sent them (a group
reads several sources; the library group reads every partner's ingress under the same event type), so any
value but "unknown" could be wrong, and a wrong source would make an event applied before this upgrade and
delivered again (a reclaimed entry, `linli events dlq redrive`, a replay) take effect a second time.
CloudEvents sources are never empty, so no real event is recorded with `''`. Only ids recorded before the
upgrade keep the old behaviour (they still block the same id from another source); once nothing from before
the upgrade can be delivered again, `DELETE FROM inbox WHERE source = ''` ends that.

SQLite: batch mode (the table is copied, from its definition as given here rather than reflected so its key
has a name to drop, into one with the new key). PostgreSQL: ALTERs (the old primary key is dropped by its
reflected name and `inbox_pkey` created). Downgrade keeps one row per (group, id), the smallest source.

Each service's revision calls :func:`add_source_to_key` and :func:`drop_source_from_key`; this module is that
revision's body, kept in one place, and must not change once released.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

OLD_KEY = ["consumer_group", "event_id"]
NEW_KEY = ["consumer_group", "event_id", "source"]


def _inbox(key: list[str]) -> sa.Table:
    """The inbox keyed by ``key``, as it is before a step (SQLite's batch copies from it instead of
    reflecting, so its key has a name the batch can drop)."""
    columns: list[sa.Column[Any]] = [
        sa.Column("consumer_group", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.String(length=256), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
    ]
    if "source" in key:
        columns.append(sa.Column("source", sa.String(length=256), server_default="", nullable=False))
    return sa.Table("inbox", sa.MetaData(), *columns, sa.PrimaryKeyConstraint(*key, name="inbox_pkey"))


def _key_name() -> str:
    """The name of the inbox's primary key: PostgreSQL's as reflected (``inbox_pkey`` by default), on
    SQLite the one :func:`_inbox` gives it."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return "inbox_pkey"
    return sa.inspect(bind).get_pk_constraint("inbox").get("name") or "inbox_pkey"


def add_source_to_key() -> None:
    """The upgrade step (every service's inbox migration ``…_inbox_keyed_by_source_and_id``)."""
    name = _key_name()
    with op.batch_alter_table("inbox", copy_from=_inbox(OLD_KEY)) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=256), server_default="", nullable=False))
        batch_op.drop_constraint(name, type_="primary")
        batch_op.create_primary_key("inbox_pkey", NEW_KEY)


def drop_source_from_key() -> None:
    """The downgrade step: back to (group, id)."""
    # the old key allows one row per (group, id): keep the one of the smallest source ('' first)
    op.execute(
        "DELETE FROM inbox WHERE EXISTS (SELECT 1 FROM inbox o WHERE o.consumer_group = inbox.consumer_group"
        " AND o.event_id = inbox.event_id AND o.source < inbox.source)"
    )
    name = _key_name()
    with op.batch_alter_table("inbox", copy_from=_inbox(NEW_KEY)) as batch_op:
        batch_op.drop_constraint(name, type_="primary")
        batch_op.create_primary_key("inbox_pkey", OLD_KEY)
        batch_op.drop_column("source")
