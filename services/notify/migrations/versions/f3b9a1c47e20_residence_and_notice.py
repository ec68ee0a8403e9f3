"""residence and notice: where people live (from accounts' events) and notices sent by place

Revision ID: f3b9a1c47e20
Revises: 78a260cb0c94
Create Date: 2026-12-02 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "f3b9a1c47e20"
down_revision: str | None = "78a260cb0c94"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "residence",
        sa.Column("sub", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("household_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("community", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("estate", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("building", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sub"),
    )
    op.create_index("ix_residence_place", "residence", ["community", "estate", "building", "unit"])
    op.create_table(
        "notice",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("community", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("estate", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("building", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("household_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("issued_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notice_community", "notice", ["community"])


def downgrade() -> None:
    op.drop_index("ix_notice_community", table_name="notice")
    op.drop_table("notice")
    op.drop_index("ix_residence_place", table_name="residence")
    op.drop_table("residence")
