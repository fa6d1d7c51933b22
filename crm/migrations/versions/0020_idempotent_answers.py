"""Answers to writes sent with an idempotency key, kept so that a retry saves nothing twice

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'idempotent_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sender', sa.String(length=200), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('headers', sa.JSON(), nullable=False),
        sa.Column('body', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotent_answers')),
        sa.UniqueConstraint('sender', 'key', name=op.f('uq_idempotent_answers_sender')),
    )
    op.create_index(
        op.f('ix_idempotent_answers_created_at'), 'idempotent_answers', ['created_at'], unique=False
    )


def downgrade():
    op.drop_index(op.f('ix_idempotent_answers_created_at'), table_name='idempotent_answers')
    op.drop_table('idempotent_answers')
