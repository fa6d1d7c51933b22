"""Notifications, their deliveries, each person's inbox and choices, and the sending lease

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('lead_id', sa.Integer(), nullable=True),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['lead_id'], ['leads.id'], name=op.f('fk_notifications_lead_id_leads')
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
        sa.UniqueConstraint('key', name=op.f('uq_notifications_key')),
    )
    op.create_index(
        'ix_notifications_user_read', 'notifications', ['user_id', 'read_at', 'id'], unique=False
    )
    op.create_table(
        'notification_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('notification_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ['notification_id'],
            ['notifications.id'],
            name=op.f('fk_notification_deliveries_notification_id_notifications'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_deliveries')),
        sa.UniqueConstraint(
            'notification_id',
            'channel',
            name=op.f('uq_notification_deliveries_notification_id'),
        ),
    )
    op.create_index(
        'ix_notification_deliveries_state_next',
        'notification_deliveries',
        ['state', 'next_attempt_at'],
        unique=False,
    )
    op.create_table(
        'notification_inboxes',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('unread', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('preferences', sa.JSON(), nullable=False),
        sa.Column('last_digest_on', sa.Date(), nullable=True),
        sa.Column('last_weekly_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_notification_inboxes_user_id_users')
        ),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_inboxes')),
    )
    op.create_table(
        'leases',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('holder', sa.String(length=120), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_leases')),
    )


def downgrade():
    op.drop_table('leases')
    op.drop_table('notification_inboxes')
    op.drop_index('ix_notification_deliveries_state_next', table_name='notification_deliveries')
    op.drop_table('notification_deliveries')
    op.drop_index('ix_notifications_user_read', table_name='notifications')
    op.drop_table('notifications')
