"""Planned steps: the history of each lead's next steps, for the missed contacts page

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 14:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # A new table and its indexes only: `leads` and `users` are not rebuilt.
    op.create_table(
        'planned_steps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lead_id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('planned_at', sa.DateTime(), nullable=False),
        sa.Column('planned_by_id', sa.Integer(), nullable=True),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('ended_by_activity_id', sa.Integer(), nullable=True),
        sa.Column('kept_by_activity_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['ended_by_activity_id'], ['activities.id'],
            name=op.f('fk_planned_steps_ended_by_activity_id_activities'),
        ),
        sa.ForeignKeyConstraint(
            ['kept_by_activity_id'], ['activities.id'],
            name=op.f('fk_planned_steps_kept_by_activity_id_activities'),
        ),
        sa.ForeignKeyConstraint(
            ['lead_id'], ['leads.id'], name=op.f('fk_planned_steps_lead_id_leads'),
        ),
        sa.ForeignKeyConstraint(
            ['owner_id'], ['users.id'], name=op.f('fk_planned_steps_owner_id_users'),
        ),
        sa.ForeignKeyConstraint(
            ['planned_by_id'], ['users.id'], name=op.f('fk_planned_steps_planned_by_id_users'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_planned_steps')),
    )
    fill_current_steps()
    op.create_index('ix_planned_steps_lead_due', 'planned_steps', ['lead_id', 'due_at'])
    # Partial: the missed contacts page reads only the steps nobody answered, and those
    # still standing.
    unanswered, standing = sa.text('kept_by_activity_id IS NULL'), sa.text('ended_at IS NULL')
    op.create_index(
        'ix_planned_steps_unanswered',
        'planned_steps',
        ['due_at', 'ended_at', 'owner_id', 'lead_id', 'kept_by_activity_id'],
        sqlite_where=unanswered,
        postgresql_where=unanswered,
    )
    op.create_index(
        'ix_planned_steps_unanswered_owner',
        'planned_steps',
        ['owner_id', 'due_at', 'ended_at', 'lead_id', 'kept_by_activity_id'],
        sqlite_where=unanswered,
        postgresql_where=unanswered,
    )
    op.create_index(
        'ix_planned_steps_standing',
        'planned_steps',
        ['kept_by_activity_id', 'owner_id', 'due_at', 'ended_at', 'lead_id'],
        sqlite_where=standing,
        postgresql_where=standing,
    )


def fill_current_steps():
    """Each open lead's current next step becomes its first planned step. Nobody knows when it
    was planned: the lead's last change is the best guess. It was kept if the newest contact
    (which the lead caches, deleted ones left out) came at or after it."""
    op.execute(
        "INSERT INTO planned_steps (lead_id, owner_id, due_at, note, planned_at, "
        "kept_by_activity_id) "
        "SELECT leads.id, leads.owner_id, leads.next_step_at, leads.next_step_note, "
        "leads.updated_at, "
        "CASE WHEN leads.last_activity_at >= leads.next_step_at "
        "THEN leads.last_activity_id END "
        "FROM leads JOIN stages ON stages.id = leads.stage_id "
        "WHERE leads.next_step_at IS NOT NULL AND stages.kind = 'open'"
    )


def downgrade():
    op.drop_index('ix_planned_steps_standing', table_name='planned_steps')
    op.drop_index('ix_planned_steps_unanswered_owner', table_name='planned_steps')
    op.drop_index('ix_planned_steps_unanswered', table_name='planned_steps')
    op.drop_index('ix_planned_steps_lead_due', table_name='planned_steps')
    op.drop_table('planned_steps')
