"""preferences, rules, followers, deliveries and attempt log

Revision ID: 165032b034b3
Revises: 9eeed8d45c83
Create Date: 2026-11-28 11:00:23.591340
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '165032b034b3'
down_revision: str | None = '9eeed8d45c83'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # existing rows get defaults (server_default) for the new NOT NULL columns
    op.create_table('delivery',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('event_source', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('event_time', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('correlation_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('critical', sa.Boolean(), nullable=False),
    sa.Column('fold', sa.Boolean(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('short', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('full', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'recipient', 'channel', name='uq_delivery_event_recipient_channel')
    )
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_due', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_recipient'), ['recipient'], unique=False)

    op.create_table('delivery_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('response', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('folded', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_attempt_delivery_id'), ['delivery_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_attempt_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_attempt_recipient'), ['recipient'], unique=False)

    op.create_table('follower',
    sa.Column('ticket_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.PrimaryKeyConstraint('ticket_id', 'user_id')
    )
    op.create_table('rule',
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('audiences', sa.JSON(), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('critical', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('template', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.PrimaryKeyConstraint('event')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False, server_default='system'))
        batch_op.add_column(sa.Column('critical', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('archived_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))

    with op.batch_alter_table('recipient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default='Asia/Shanghai'))
        batch_op.add_column(sa.Column('quiet_start', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True))
        batch_op.add_column(sa.Column('quiet_end', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True))
        batch_op.add_column(sa.Column('digest_hour', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rate_limit', sa.Integer(), nullable=False, server_default='5'))
        batch_op.add_column(sa.Column('rate_window_minutes', sa.Integer(), nullable=False, server_default='10'))
        batch_op.add_column(sa.Column('channels', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('muted', sa.JSON(), nullable=False, server_default='{}'))

    # ### end Alembic commands ###


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('recipient', schema=None) as batch_op:
        batch_op.drop_column('muted')
        batch_op.drop_column('channels')
        batch_op.drop_column('rate_window_minutes')
        batch_op.drop_column('rate_limit')
        batch_op.drop_column('digest_hour')
        batch_op.drop_column('quiet_end')
        batch_op.drop_column('quiet_start')
        batch_op.drop_column('timezone')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
        batch_op.drop_column('critical')
        batch_op.drop_column('category')

    op.drop_table('rule')
    op.drop_table('follower')
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_attempt_recipient'))
        batch_op.drop_index(batch_op.f('ix_delivery_attempt_event_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_attempt_delivery_id'))

    op.drop_table('delivery_attempt')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_recipient'))
        batch_op.drop_index(batch_op.f('ix_delivery_event_id'))
        batch_op.drop_index('ix_delivery_due')

    op.drop_table('delivery')
    # ### end Alembic commands ###
