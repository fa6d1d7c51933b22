"""People per lead: the main contact moves into the first of the lead's people, and every
person's phones and emails are kept as matching compares them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 05:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# Phones are matched on their last ten digits (crm.funnel.PHONE_TAIL).
PHONE_TAIL = 10


def upgrade():
    op.create_table(
        'lead_people',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lead_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=True),
        sa.Column('job_title', sa.String(length=120), nullable=True),
        sa.Column('phones', sa.JSON(), nullable=False),
        sa.Column('emails', sa.JSON(), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_lead_people_lead_id_leads')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_people')),
    )
    op.create_index('ix_lead_people_lead', 'lead_people', ['lead_id', 'position'])
    op.create_table(
        'contact_points',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lead_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('value', sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_contact_points_lead_id_leads')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_points')),
    )
    op.create_index('ix_contact_points_kind_value', 'contact_points', ['kind', 'value', 'lead_id'])
    op.create_index(op.f('ix_contact_points_lead_id'), 'contact_points', ['lead_id'])
    move_main_contacts()


def move_main_contacts():
    """Each lead's contact name, phone and email become its first person; nothing is lost."""
    postgresql = op.get_bind().dialect.name == 'postgresql'
    as_list = 'json_build_array({})' if postgresql else 'json_array({})'
    empty = "'[]'::json" if postgresql else "'[]'"
    tail = 'right(phone_digits, {n})' if postgresql else 'substr(phone_digits, -{n})'
    op.execute(
        "INSERT INTO lead_people (lead_id, position, name, phones, emails) "
        f"SELECT id, 0, contact_name, "
        f"CASE WHEN phone IS NULL THEN {empty} ELSE {as_list.format('phone')} END, "
        f"CASE WHEN email IS NULL THEN {empty} ELSE {as_list.format('email')} END "
        "FROM leads WHERE contact_name IS NOT NULL OR phone IS NOT NULL OR email IS NOT NULL "
        "ORDER BY id"
    )
    op.execute(
        "INSERT INTO contact_points (lead_id, kind, value) "
        f"SELECT id, 'phone', {tail.format(n=PHONE_TAIL)} FROM leads "
        "WHERE phone_digits IS NOT NULL ORDER BY id"
    )
    op.execute(
        "INSERT INTO contact_points (lead_id, kind, value) "
        "SELECT id, 'email', lower(email) FROM leads WHERE email IS NOT NULL ORDER BY id"
    )


def downgrade():
    # The main contact never left the leads table: only the other people are lost.
    op.drop_index(op.f('ix_contact_points_lead_id'), table_name='contact_points')
    op.drop_index('ix_contact_points_kind_value', table_name='contact_points')
    op.drop_table('contact_points')
    op.drop_index('ix_lead_people_lead', table_name='lead_people')
    op.drop_table('lead_people')
