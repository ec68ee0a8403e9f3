"""a household's entries at one activity by index (household, activity_id, status)

Revision ID: 7c1d5e9a2b44
Revises: e3ecd411fa51
Create Date: 2026-12-03 15:00:00.000000

The sign-up asks for a household's entries at the activity on every request. With ``ix_signup_household``
(household, status) and ``ix_signup_queue`` (activity_id, status, position) both matching two terms, SQLite's
planner (no statistics) took the queue and read every entry of the activity: a cost that grew with the waitlist.
This index matches all three terms; it also serves what the one it replaces served (a household's sign-ups,
its no-shows: the household first).
"""
from collections.abc import Sequence

from alembic import op


revision: str = '7c1d5e9a2b44'
down_revision: str | None = 'e3ecd411fa51'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('signup', schema=None) as batch_op:
        batch_op.create_index('ix_signup_household_activity', ['household', 'activity_id', 'status'], unique=False)
        batch_op.drop_index('ix_signup_household')


def downgrade() -> None:
    with op.batch_alter_table('signup', schema=None) as batch_op:
        batch_op.create_index('ix_signup_household', ['household', 'status'], unique=False)
        batch_op.drop_index('ix_signup_household_activity')
