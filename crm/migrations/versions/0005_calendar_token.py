"""Calendar feed token per user, agenda index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 12:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # No batch mode: rebuilding `users` on SQLite would trip the foreign keys pointing at it.
    op.add_column('users', sa.Column('calendar_token', sa.String(length=64), nullable=True))
    op.create_index('ix_users_calendar_token', 'users', ['calendar_token'], unique=True)
    op.create_index(
        'ix_leads_agenda',
        'leads',
        [
            'owner_id', 'archived', 'stage_id', 'next_step_at',
            'last_activity_at', 'stage_changed_at', 'created_at',
        ],
    )


def downgrade():
    op.drop_index('ix_leads_agenda', table_name='leads')
    op.drop_index('ix_users_calendar_token', table_name='users')
    # Plain ALTER TABLE (SQLite 3.35+): a batch would rebuild `users` and trip the foreign keys.
    op.drop_column('users', 'calendar_token')
