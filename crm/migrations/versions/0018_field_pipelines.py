"""A field of the team's can be limited to some pipelines

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 08:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('custom_fields', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pipeline_ids', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('custom_fields', schema=None) as batch_op:
        batch_op.drop_column('pipeline_ids')
