"""Intake forms choose the pipeline and stage their new leads start in

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 07:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('intake_forms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('start_stage_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_intake_forms_start_stage_id_stages'), 'stages', ['start_stage_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('intake_forms', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_intake_forms_start_stage_id_stages'), type_='foreignkey')
        batch_op.drop_column('start_stage_id')
