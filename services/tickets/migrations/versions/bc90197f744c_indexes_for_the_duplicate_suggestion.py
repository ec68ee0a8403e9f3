"""indexes for the duplicate suggestion (newest open reports of a building, or of a lat/lon box)

Revision ID: bc90197f744c
Revises: aff90416076c
Create Date: 2026-11-28 12:43:31.768513
"""
from collections.abc import Sequence

from alembic import op


revision: str = 'bc90197f744c'
down_revision: str | None = 'aff90416076c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_lat_lon', ['lat', 'lon'], unique=False)
        batch_op.create_index('ix_ticket_place', ['community', 'building', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_place')
        batch_op.drop_index('ix_ticket_lat_lon')
