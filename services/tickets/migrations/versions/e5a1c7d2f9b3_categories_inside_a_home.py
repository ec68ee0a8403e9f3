"""categories inside a home: public views of their tickets show the community only

Revision ID: e5a1c7d2f9b3
Revises: 8b3f2347775d
Create Date: 2026-12-02 11:40:00

居家安全隐患 (home_hazard) is marked; operators mark others with ``PUT /api/tickets/categories/{code}``.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e5a1c7d2f9b3'
down_revision: str | None = '8b3f2347775d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HOME = ("home_hazard",)


def upgrade() -> None:
    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_home', sa.Boolean(), nullable=False, server_default=sa.false()))
    category = sa.table('category', sa.column('code', sa.String), sa.column('in_home', sa.Boolean))
    op.execute(category.update().where(category.c.code.in_(HOME)).values(in_home=True))


def downgrade() -> None:
    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.drop_column('in_home')
