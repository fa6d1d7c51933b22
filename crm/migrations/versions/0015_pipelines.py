"""Pipelines: the stages so far become the first pipeline's, and each person's board remembers
which pipeline it shows

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 07:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# The first pipeline is named in the team's language, as setup named its stages.
FIRST_NAMES = {'ru': 'Продажи'}
FIRST_NAME = 'Sales'


def upgrade():
    pipelines = op.create_table(
        'pipelines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('archived_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pipelines')),
    )
    bind = op.get_bind()
    # A database set up already: its stages become the first pipeline's. An empty one gets its
    # first pipeline with its stages at setup.
    has_stages = bind.execute(sa.text("SELECT count(*) FROM stages")).scalar()
    language = bind.execute(
        sa.text("SELECT value FROM app_settings WHERE key = 'language'")
    ).scalar()
    if has_stages:
        op.bulk_insert(
            pipelines, [{'id': 1, 'name': FIRST_NAMES.get(language, FIRST_NAME), 'position': 0}]
        )
        if bind.dialect.name == 'postgresql':
            op.execute("SELECT setval(pg_get_serial_sequence('pipelines', 'id'), 1)")
    with op.batch_alter_table('stages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pipeline_id', sa.Integer(), nullable=True))
    op.execute('UPDATE stages SET pipeline_id = 1')
    with op.batch_alter_table('stages', schema=None) as batch_op:
        batch_op.alter_column('pipeline_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_stages_pipeline_id'), ['pipeline_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_stages_pipeline_id_pipelines'), 'pipelines', ['pipeline_id'], ['id']
        )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('board_pipeline_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_users_board_pipeline_id_pipelines'),
            'pipelines',
            ['board_pipeline_id'],
            ['id'],
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_users_board_pipeline_id_pipelines'), type_='foreignkey'
        )
        batch_op.drop_column('board_pipeline_id')
    with op.batch_alter_table('stages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_stages_pipeline_id_pipelines'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_stages_pipeline_id'))
        batch_op.drop_column('pipeline_id')
    op.drop_table('pipelines')
