"""categories, history, photos, roster, SLA claims, Open311 keys

Revision ID: c229cd9ed67b
Revises: 5188431f3039
Create Date: 2026-11-28 10:42:00.367370
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'c229cd9ed67b'
down_revision: str | None = '5188431f3039'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('category',
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name_en', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('group', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('keywords', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('safety_critical', sa.Boolean(), nullable=False),
    sa.Column('response_hours', sa.Float(), nullable=False),
    sa.Column('resolution_hours', sa.Float(), nullable=False),
    sa.Column('pool', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('supervisor', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('secretary', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('templates', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('open311_key',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('open311_key', schema=None) as batch_op:
        batch_op.create_index('uq_open311_key_hash', ['key_hash'], unique=True)

    op.create_table('staff_duty',
    sa.Column('pool', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('staff_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('on_duty', sa.Boolean(), nullable=False),
    sa.Column('last_assigned_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('pool', 'staff_id')
    )
    op.create_table('ticket_follower',
    sa.Column('ticket_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('follower', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('ticket_id', 'follower')
    )
    op.create_table('ticket_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticket_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_history_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('history_id', sa.Integer(), nullable=True),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id', 'sha256', name='uq_photo_ticket_sha')
    )
    with op.batch_alter_table('ticket_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_photo_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column('lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('lon', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('contact', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('attributes', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('close_reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('assignee', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
        batch_op.add_column(sa.Column('first_response_due', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolution_due', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('rating', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rating_comment', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch_op.add_column(sa.Column('escalation_level', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('escalated_to', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
        batch_op.add_column(sa.Column('response_l1_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('response_l2_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolution_l1_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolution_l2_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('source_hazard_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default='app'))
        batch_op.create_index(batch_op.f('ix_ticket_assignee'), ['assignee'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_token'), ['token'], unique=False)
        batch_op.create_index('uq_ticket_source_hazard', ['source_hazard_id'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('uq_ticket_source_hazard')
        batch_op.drop_index(batch_op.f('ix_ticket_token'))
        batch_op.drop_index(batch_op.f('ix_ticket_assignee'))
        batch_op.drop_column('via')
        batch_op.drop_column('token')
        batch_op.drop_column('source_hazard_id')
        batch_op.drop_column('resolution_l2_at')
        batch_op.drop_column('resolution_l1_at')
        batch_op.drop_column('response_l2_at')
        batch_op.drop_column('response_l1_at')
        batch_op.drop_column('escalated_to')
        batch_op.drop_column('escalation_level')
        batch_op.drop_column('rating_comment')
        batch_op.drop_column('rating')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('acknowledged_at')
        batch_op.drop_column('resolution_due')
        batch_op.drop_column('first_response_due')
        batch_op.drop_column('assignee')
        batch_op.drop_column('close_reason')
        batch_op.drop_column('attributes')
        batch_op.drop_column('contact')
        batch_op.drop_column('lon')
        batch_op.drop_column('lat')
        batch_op.drop_column('address')

    with op.batch_alter_table('ticket_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_photo_ticket_id'))

    op.drop_table('ticket_photo')
    with op.batch_alter_table('ticket_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_history_ticket_id'))

    op.drop_table('ticket_history')
    op.drop_table('ticket_follower')
    op.drop_table('staff_duty')
    with op.batch_alter_table('open311_key', schema=None) as batch_op:
        batch_op.drop_index('uq_open311_key_hash')

    op.drop_table('open311_key')
    op.drop_table('category')
