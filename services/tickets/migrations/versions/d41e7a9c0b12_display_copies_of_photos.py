"""display copies of photos: views link a copy whose longest side is 1600 px

Revision ID: d41e7a9c0b12
Revises: bc90197f744c
Create Date: 2026-12-02 08:40:00

Photos stored before have no copy (NULL): views link the original, as they did.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'd41e7a9c0b12'
down_revision: str | None = 'bc90197f744c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ticket_photo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('display_kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ticket_photo', schema=None) as batch_op:
        batch_op.drop_column('display_kind')
        batch_op.drop_column('display_sha256')
