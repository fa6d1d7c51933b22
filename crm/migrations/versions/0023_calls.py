"""Calls from the phone system: connections with their hook address, the calls they tell of,
and the requests counted for throttling

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-07 10:25:16

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'phone_connections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('provider', sa.String(length=20), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('secret', sa.String(length=200), nullable=True),
        sa.Column('extensions', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_connections')),
    )
    op.create_index(
        op.f('ix_phone_connections_token'), 'phone_connections', ['token'], unique=True
    )
    op.create_table(
        'phone_hits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['connection_id'],
            ['phone_connections.id'],
            name=op.f('fk_phone_hits_connection_id_phone_connections'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_hits')),
    )
    op.create_index(
        'ix_phone_hits_connection_received', 'phone_hits', ['connection_id', 'received_at']
    )
    op.create_table(
        'calls',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('external_id', sa.String(length=120), nullable=False),
        sa.Column('direction', sa.String(length=3), nullable=False),
        sa.Column('from_number', sa.String(length=50), nullable=True),
        sa.Column('to_number', sa.String(length=50), nullable=True),
        sa.Column('outside_number', sa.String(length=50), nullable=True),
        sa.Column('lead_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('answered', sa.Boolean(), nullable=False),
        sa.Column('duration_s', sa.Integer(), nullable=True),
        sa.Column('recording_url', sa.String(length=1000), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('activity_id', sa.Integer(), nullable=True),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['activity_id'], ['activities.id'], name=op.f('fk_calls_activity_id_activities')
        ),
        sa.ForeignKeyConstraint(
            ['connection_id'],
            ['phone_connections.id'],
            name=op.f('fk_calls_connection_id_phone_connections'),
        ),
        sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_calls_lead_id_leads')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calls_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
        sa.UniqueConstraint(
            'connection_id', 'external_id', name=op.f('uq_calls_connection_id')
        ),
    )
    op.create_index('ix_calls_activity', 'calls', ['activity_id'])
    op.create_index('ix_calls_lead_started', 'calls', ['lead_id', 'started_at'])
    op.create_index('ix_calls_status_started', 'calls', ['status', 'started_at'])
    op.create_index('ix_calls_user_status', 'calls', ['user_id', 'status', 'started_at'])


def downgrade():
    op.drop_table('calls')
    op.drop_table('phone_hits')
    op.drop_table('phone_connections')
