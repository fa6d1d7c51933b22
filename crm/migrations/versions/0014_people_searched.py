"""The lead search reads every person of a lead: their names, emails and phone digits join
each lead's search line

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 07:00:00

"""
import re
from itertools import groupby

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BATCH = 2000
leads = sa.table('leads', sa.column('id', sa.Integer), sa.column('search_text', sa.Text))
people = sa.table(
    'lead_people',
    sa.column('lead_id', sa.Integer),
    sa.column('position', sa.Integer),
    sa.column('name', sa.String),
    sa.column('phones', sa.JSON),
    sa.column('emails', sa.JSON),
)


def added_words(persons):
    """What the search line lacked of `persons` (in order): the main contact's name and first
    email were in it already; the rest of the main contact and everyone else were not."""
    words = []
    for index, person in enumerate(persons):
        if index:
            words.append(person.name or '')
        words += (person.emails or [])[0 if index else 1:]
        words += [re.sub(r'\D', '', phone) for phone in person.phones or []]
    return ' '.join(word for word in words if word).casefold()


def upgrade():
    bind = op.get_bind()
    last_id = -1
    while True:
        rows = bind.execute(
            sa.select(people.c.lead_id, people.c.name, people.c.phones, people.c.emails)
            .where(people.c.lead_id.in_(
                sa.select(people.c.lead_id).distinct()
                .where(people.c.lead_id > last_id)
                .order_by(people.c.lead_id)
                .limit(BATCH)
                .scalar_subquery()
            ))
            .order_by(people.c.lead_id, people.c.position)
        ).all()
        if not rows:
            return
        words = {
            lead_id: added_words(list(persons))
            for lead_id, persons in groupby(rows, key=lambda row: row.lead_id)
        }
        texts = dict(bind.execute(
            sa.select(leads.c.id, leads.c.search_text).where(leads.c.id.in_(list(words)))
        ).all())
        changed = [
            {'lead_id': lead_id, 'text': f"{texts.get(lead_id) or ''} {added}"}
            for lead_id, added in words.items()
            if added
        ]
        if changed:
            bind.execute(
                leads.update()
                .where(leads.c.id == sa.bindparam('lead_id'))
                .values(search_text=sa.bindparam('text')),
                changed,
            )
        last_id = rows[-1].lead_id


def downgrade():
    # The words added stay: a search finds a little more until the lines are made again.
    pass
