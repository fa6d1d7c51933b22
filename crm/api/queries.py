"""Reads for the API: the lead list by the lead register's own keyset, a lead's activities.

A page of leads is found as the register finds it (crm/leads/queries.py: the same filters, the
same order and cursor conditions, on the leads table alone), then its rows are loaded with what
the answer shows in one more query. The register also counts the matches on its first page;
the API does not, so every page costs the same.
"""

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from crm.activities.queries import Cursor as ActivityCursor
from crm.activities.queries import older_than
from crm.extensions import db
from crm.leads import queries as register
from crm.models import Activity, ActivityKind, Lead, LostReason, Stage

# Newest first, as the register opens: by number, which is unique, so it alone is the key.
SORT = "number"


def lead_page(filters, cursor, size):
    """Up to `size` leads after `cursor` (a register Cursor or None), and the next cursor."""
    column = register.SORTS[SORT].column()
    found = db.session.execute(
        select(Lead.id, column.label("sort_key"))
        .where(
            *register.filter_conditions(filters),
            register.after_condition(SORT, column, True, cursor),
        )
        .order_by(*register.order_by(SORT, column, True))
        .limit(size + 1)
    ).all()
    page = found[:size]
    leads = leads_by_id([row.id for row in page])
    more = len(found) > size
    next_cursor = register.Cursor(page[-1].sort_key, page[-1].id) if more else None
    return [leads[row.id] for row in page if row.id in leads], next_cursor


def with_everything_shown():
    return (
        joinedload(Lead.stage).joinedload(Stage.pipeline),
        joinedload(Lead.owner),
        joinedload(Lead.lost_reason),
        # The people of a whole page in one more query, not one a lead.
        selectinload(Lead.people),
    )


def leads_by_id(ids):
    if not ids:
        return {}
    statement = select(Lead).options(*with_everything_shown()).where(Lead.id.in_(ids))
    return {lead.id: lead for lead in db.session.scalars(statement)}


def lead_by_number(number):
    if not 0 < number <= register.MAX_ID:
        return None
    return db.session.scalar(
        select(Lead).options(*with_everything_shown()).where(Lead.number == number)
    )


def activity_page(lead, cursor, size):
    """A lead's activities, newest first, as the timeline orders them; deleted ones never."""
    statement = (
        select(Activity)
        .options(
            joinedload(Activity.kind),
            joinedload(Activity.author),
            joinedload(Activity.stage_after),
        )
        .where(Activity.lead_id == lead.id, Activity.deleted_at.is_(None))
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(size + 1)
    )
    if cursor is not None:
        statement = statement.where(older_than(cursor))
    found = db.session.scalars(statement).unique().all()
    page = found[:size]
    more = len(found) > size
    return page, ActivityCursor(page[-1].occurred_at, page[-1].id) if more else None


def activity_with_everything(activity_id):
    return db.session.scalar(
        select(Activity)
        .options(
            joinedload(Activity.kind),
            joinedload(Activity.author),
            joinedload(Activity.stage_after),
        )
        .where(Activity.id == activity_id)
    )


def activity_kinds():
    """Every kind, switched-off ones too: old activities show them."""
    return db.session.scalars(
        select(ActivityKind).order_by(ActivityKind.position, ActivityKind.id)
    ).all()


def lost_reasons():
    return db.session.scalars(select(LostReason).order_by(LostReason.position, LostReason.id)).all()
