"""The board: closed leads by when they closed, the sources, and the data version

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 12:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    # Plain CREATE INDEX: a batch operation would rebuild `leads` and drop the search triggers.
    op.create_index(
        'ix_leads_stage_changed',
        'leads',
        ['stage_id', 'stage_changed_at', 'archived', 'value', 'updated_at'],
    )
    op.create_index('ix_leads_source', 'leads', ['source'])
    op.create_index(
        'ix_leads_board_cards',
        'leads',
        [
            'stage_id',
            'archived',
            sa.text('(next_step_at IS NULL)'),
            'next_step_at',
            'last_activity_at',
        ],
    )
    op.create_index(
        'ix_leads_board_columns', 'leads', ['stage_id', 'archived', 'value', 'updated_at']
    )
    counters = sa.table('counters', sa.column('name', sa.String), sa.column('value', sa.Integer))
    op.bulk_insert(counters, [{'name': 'data', 'value': 0}])


def downgrade():
    op.execute("DELETE FROM counters WHERE name = 'data'")
    op.drop_index('ix_leads_board_cards', table_name='leads')
    op.drop_index('ix_leads_board_columns', table_name='leads')
    op.drop_index('ix_leads_source', table_name='leads')
    op.drop_index('ix_leads_stage_changed', table_name='leads')
