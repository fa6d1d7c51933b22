"""Intake forms: web forms on other sites that send requests in as leads

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # New tables only: nothing existing is rebuilt.
    op.create_table(
        'intake_forms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=80), nullable=True),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('allowed_origins', sa.Text(), nullable=False),
        sa.Column('reply', sa.String(length=10), nullable=False),
        sa.Column('redirect_url', sa.String(length=500), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['owner_id'], ['users.id'], name=op.f('fk_intake_forms_owner_id_users'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_forms')),
    )
    op.create_index('ix_intake_forms_token', 'intake_forms', ['token'], unique=True)
    op.create_table(
        'intake_hits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('form_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['form_id'], ['intake_forms.id'], name=op.f('fk_intake_hits_form_id_intake_forms'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_hits')),
    )
    op.create_index(
        'ix_intake_hits_form_address_received',
        'intake_hits',
        ['form_id', 'address', 'received_at'],
    )
    op.create_index('ix_intake_hits_received_at', 'intake_hits', ['received_at'])


def downgrade():
    op.drop_index('ix_intake_hits_received_at', table_name='intake_hits')
    op.drop_index('ix_intake_hits_form_address_received', table_name='intake_hits')
    op.drop_table('intake_hits')
    op.drop_index('ix_intake_forms_token', table_name='intake_forms')
    op.drop_table('intake_forms')
