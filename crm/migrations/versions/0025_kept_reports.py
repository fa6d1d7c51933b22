"""Kept reports: a report's result shared by every worker and server

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 16:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'kept_reports',
        sa.Column('slot', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('made_at', sa.Float(), nullable=False),
        sa.Column('result', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('slot', name=op.f('pk_kept_reports')),
    )


def downgrade():
    op.drop_table('kept_reports')
