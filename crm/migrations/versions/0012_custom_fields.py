"""The team's own fields: their definitions, and a JSON column of values on leads

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 04:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'custom_fields',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('label', sa.String(length=80), nullable=False),
        sa.Column('type', sa.String(length=20), nullable=False),
        sa.Column('options', sa.JSON(), nullable=False),
        sa.Column('required', sa.Boolean(), nullable=False),
        sa.Column('help_text', sa.String(length=300), nullable=True),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('in_list', sa.Boolean(), nullable=False),
        sa.Column('on_card', sa.Boolean(), nullable=False),
        sa.Column('on_new_form', sa.Boolean(), nullable=False),
        sa.Column('filterable', sa.Boolean(), nullable=False),
        sa.Column('identifies_client', sa.Boolean(), nullable=False),
        sa.Column('removed_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_fields')),
        sa.UniqueConstraint('key', name=op.f('uq_custom_fields_key')),
    )
    # A column added in place (no rebuild of `leads` on SQLite, so its search triggers stay);
    # every existing lead starts with no values.
    op.add_column(
        'leads',
        sa.Column(
            'fields',
            sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'),
            server_default='{}',
            nullable=False,
        ),
    )


def downgrade():
    # The fields' own indexes go with the column; they are named after it.
    from crm import custom_fields

    custom_fields.drop_indexes(op.get_bind())
    # Dropped in place, not by a batch rebuild, which would lose the search triggers.
    op.execute('ALTER TABLE leads DROP COLUMN fields')
    op.drop_table('custom_fields')
