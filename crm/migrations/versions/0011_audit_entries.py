"""Audit trail: every change to a lead, activity, stage or user

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    # A new table only: nothing existing is rebuilt. What happened before it has no entries.
    op.create_table(
        'audit_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('subject', sa.String(length=20), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=False),
        sa.Column('lead_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('field', sa.String(length=40), nullable=True),
        sa.Column('old', sa.Text(), nullable=True),
        sa.Column('new', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ['actor_id'], ['users.id'], name=op.f('fk_audit_entries_actor_id_users'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries')),
    )
    op.create_index('ix_audit_entries_lead', 'audit_entries', ['lead_id', 'id'])
    op.create_index('ix_audit_entries_subject', 'audit_entries', ['subject', 'subject_id', 'id'])
    op.create_index('ix_audit_entries_actor', 'audit_entries', ['actor_id', 'id'])
    op.create_index('ix_audit_entries_at', 'audit_entries', ['at'])


def downgrade():
    op.drop_index('ix_audit_entries_at', table_name='audit_entries')
    op.drop_index('ix_audit_entries_actor', table_name='audit_entries')
    op.drop_index('ix_audit_entries_subject', table_name='audit_entries')
    op.drop_index('ix_audit_entries_lead', table_name='audit_entries')
    op.drop_table('audit_entries')
