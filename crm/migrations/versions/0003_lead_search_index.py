"""Trigram index for the lead search

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 11:40:00

"""
from alembic import op

from crm import search_index

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    search_index.create(op.get_bind())


def downgrade():
    search_index.drop(op.get_bind())
