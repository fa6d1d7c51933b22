"""The settings' version: each worker keeps the team's pick lists while it stays the same

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

counters = sa.table('counters', sa.column('name', sa.String), sa.column('value', sa.Integer))


def upgrade():
    # The row is there before the first change, so two first changes never both insert it.
    op.execute(
        "INSERT INTO counters (name, value) SELECT 'settings', 0 "
        "WHERE NOT EXISTS (SELECT 1 FROM counters WHERE name = 'settings')"
    )


def downgrade():
    op.execute(counters.delete().where(counters.c.name == 'settings'))
