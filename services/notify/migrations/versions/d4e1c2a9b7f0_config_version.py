"""config version: a change counter for recipients and rules (routing caches them between batches)

Revision ID: d4e1c2a9b7f0
Revises: 165032b034b3
Create Date: 2026-11-28 15:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'd4e1c2a9b7f0'
down_revision: str | None = '165032b034b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table('config_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(table, [{'id': 1, 'version': 0}])


def downgrade() -> None:
    op.drop_table('config_version')
