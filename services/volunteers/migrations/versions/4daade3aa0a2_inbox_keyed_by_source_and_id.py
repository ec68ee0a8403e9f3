"""inbox keyed by source and id: a `source` column in the inbox's primary key

CloudEvents names an event by `source` and `id` together; see shared/messaging/inbox_migration.py
for the step and why rows from before get `source = ''`.

Revision ID: 4daade3aa0a2
Revises: 0274363c4ea0
Create Date: 2026-12-02 09:34:12.627920
"""

from collections.abc import Sequence

from shared.messaging.inbox_migration import add_source_to_key, drop_source_from_key

revision: str = "4daade3aa0a2"
down_revision: str | None = "0274363c4ea0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_source_to_key()


def downgrade() -> None:
    drop_source_from_key()
