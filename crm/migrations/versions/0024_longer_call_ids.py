"""Longer call ids: Mango Office names a call by an entry id of up to 128 bytes

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 13:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.alter_column(
            'external_id', existing_type=sa.String(length=120), type_=sa.String(length=200)
        )


def downgrade():
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.alter_column(
            'external_id', existing_type=sa.String(length=200), type_=sa.String(length=120)
        )
