"""one index fewer per report: ``ix_ticket_community`` repeats the first column of ``ix_ticket_place``

Every report wrote both b-trees; a lookup by community (a staff member's list, the KPIs) is served as well
by ``ix_ticket_place`` (community, building, created_at), whose first column it is.

Revision ID: f3c8a1d5e7b2
Revises: e5a1c7d2f9b3
Create Date: 2026-12-07 02:10:00
"""
from collections.abc import Sequence

from alembic import op


revision: str = 'f3c8a1d5e7b2'
down_revision: str | None = 'e5a1c7d2f9b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_community')


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_community', ['community'], unique=False)
