"""inbox keyed by source and id: a `source` column in the inbox's primary key

CloudEvents names an event by `source` and `id` together; see shared/messaging/inbox_migration.py
for the step and why rows from before get `source = ''`.

Revision ID: 8b3f2347775d
Revises: d41e7a9c0b12
Create Date: 2026-12-02 09:34:07.902619
"""

from collections.abc import Sequence

from shared.messaging.inbox_migration import add_source_to_key, drop_source_from_key

revision: str = "8b3f2347775d"
down_revision: str | None = "d41e7a9c0b12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_source_to_key()


def downgrade() -> None:
    drop_source_from_key()
