"""Analytics: how long each lead stayed in the stage it left, and indexes for the reports

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# The gap between each change and the lead's change before it, in whole seconds.
PREVIOUS = (
    "LAG(changed_at) OVER (PARTITION BY lead_id ORDER BY changed_at, id)"
)
SECONDS = {
    "sqlite": f"CAST(ROUND((julianday(changed_at) - julianday({PREVIOUS})) * 86400) AS INTEGER)",
    "postgresql": f"CAST(EXTRACT(EPOCH FROM (changed_at - {PREVIOUS})) AS INTEGER)",
}


def upgrade():
    # A plain added column: `stage_changes` is not rebuilt.
    op.add_column(
        'stage_changes', sa.Column('seconds_in_from_stage', sa.Integer(), nullable=True)
    )
    dialect = op.get_bind().dialect.name
    seconds = SECONDS[dialect]
    greatest = "MAX" if dialect == "sqlite" else "GREATEST"
    op.execute(
        f"UPDATE stage_changes SET seconds_in_from_stage = {greatest}(0, gaps.seconds) "
        f"FROM (SELECT id, {seconds} AS seconds FROM stage_changes) AS gaps "
        "WHERE stage_changes.id = gaps.id AND stage_changes.from_stage_id IS NOT NULL"
    )
    op.drop_index('ix_stage_changes_lead_changed', table_name='stage_changes')
    op.create_index(
        'ix_stage_changes_lead_changed',
        'stage_changes',
        ['lead_id', 'changed_at', 'from_stage_id', 'to_stage_id'],
        unique=False,
    )
    op.drop_index('ix_leads_stage_changed', table_name='leads')
    op.create_index(
        'ix_leads_stage_changed',
        'leads',
        [
            'stage_id', 'stage_changed_at', 'archived', 'value', 'updated_at',
            'owner_id', 'lost_reason_id', 'created_at', 'source',
        ],
        unique=False,
    )
    op.create_index(
        'ix_stage_changes_stays',
        'stage_changes',
        ['changed_at', 'from_stage_id', 'seconds_in_from_stage', 'lead_id'],
        unique=False,
    )
    op.create_index(
        'ix_activities_author_kind_occurred',
        'activities',
        ['author_id', 'kind_id', 'occurred_at', 'deleted_at', 'lead_id'],
        unique=False,
    )
    op.create_index(
        'ix_activities_lead_author',
        'activities',
        ['lead_id', 'author_id', 'occurred_at', 'deleted_at'],
        unique=False,
    )


def downgrade():
    op.drop_index('ix_activities_lead_author', table_name='activities')
    op.drop_index('ix_activities_author_kind_occurred', table_name='activities')
    op.drop_index('ix_leads_stage_changed', table_name='leads')
    op.create_index(
        'ix_leads_stage_changed',
        'leads',
        ['stage_id', 'stage_changed_at', 'archived', 'value', 'updated_at'],
        unique=False,
    )
    op.drop_index('ix_stage_changes_stays', table_name='stage_changes')
    op.drop_index('ix_stage_changes_lead_changed', table_name='stage_changes')
    op.create_index(
        'ix_stage_changes_lead_changed', 'stage_changes', ['lead_id', 'changed_at'], unique=False
    )
    op.drop_column('stage_changes', 'seconds_in_from_stage')
