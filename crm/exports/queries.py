"""Reads for the exports: every lead or activity a list or the feed matches, and every table
for the full export, each read a chunk at a time by its key.

A chunk is one query, so memory stays flat whatever the size of the database, and the number
of queries follows the number of chunks, never of rows (no query per row).
"""

from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from crm.activities import queries as feed_queries
from crm.extensions import db
from crm.leads import queries as list_queries
from crm.models import (
    Activity,
    ActivityKind,
    Lead,
    LeadPerson,
    LostReason,
    Pipeline,
    Stage,
    User,
)

CHUNK = 1000
# The feed's filters with no limit on the dates: (start, end) of the activities of all time.
ALL_TIME = (datetime.min, datetime.max)


def lead_rows(filters, sort=list_queries.DEFAULT_SORT, descending=None, with_people=False):
    """The leads the list shows for `filters` (every page), in its order, with the names of
    their stage, owner and lost reason; `with_people`: each as (row, its people), the people
    read a chunk at a time."""
    if descending is None:
        descending = list_queries.SORTS[sort].descending_first
    # Built once: for some sorts building the column reads the stages or the team.
    column = list_queries.SORTS[sort].column()
    owner = aliased(User)
    statement = (
        select(
            Lead.id,
            Lead.number,
            Lead.title,
            Lead.contact_name,
            Lead.phone,
            Lead.email,
            Lead.source,
            Pipeline.name.label("pipeline"),
            Stage.name.label("stage"),
            owner.name.label("owner"),
            Lead.value,
            Lead.next_step_at,
            Lead.next_step_note,
            LostReason.name.label("lost_reason"),
            Lead.lost_note,
            Lead.last_activity_at,
            Lead.created_at,
            Lead.archived,
            Lead.fields,
            column.label("sort_key"),
        )
        .join(Stage, Stage.id == Lead.stage_id)
        .join(Pipeline, Pipeline.id == Stage.pipeline_id)
        .outerjoin(owner, owner.id == Lead.owner_id)
        .outerjoin(LostReason, LostReason.id == Lead.lost_reason_id)
        .where(*list_queries.filter_conditions(filters))
        .order_by(*list_queries.order_by(sort, column, descending))
        .limit(CHUNK)
    )
    cursor = None
    while True:
        after = list_queries.after_condition(sort, column, descending, cursor)
        rows = db.session.execute(statement.where(after)).all()
        people = people_by_lead([row.id for row in rows]) if with_people else {}
        for row in rows:
            yield (row, people.get(row.id, [])) if with_people else row
        if len(rows) < CHUNK:
            return
        cursor = list_queries.Cursor(rows[-1].sort_key, rows[-1].id)


def people_by_lead(lead_ids):
    """{lead id: its people in order, the main contact first}: a chunk's, in one query."""
    found = {}
    if lead_ids:
        rows = db.session.execute(
            select(
                LeadPerson.lead_id,
                LeadPerson.name,
                LeadPerson.job_title,
                LeadPerson.phones,
                LeadPerson.emails,
            )
            .where(LeadPerson.lead_id.in_(lead_ids))
            .order_by(LeadPerson.lead_id, LeadPerson.position, LeadPerson.id)
        )
        for row in rows:
            found.setdefault(row.lead_id, []).append(row)
    return found


def most_people(filters):
    """The most people any of the leads `filters` match has (0 when none has any)."""
    counts = (
        select(func.count().label("people"))
        .select_from(LeadPerson)
        .where(
            LeadPerson.lead_id.in_(select(Lead.id).where(*list_queries.filter_conditions(filters)))
        )
        .group_by(LeadPerson.lead_id)
        .subquery()
    )
    return db.session.scalar(select(func.max(counts.c.people))) or 0


def activity_rows(filters):
    """The activities the feed shows for `filters` (every page), oldest first, with their
    lead, kind, author and the stage they moved the lead to."""
    statement = (
        select(
            Activity.id,
            Activity.occurred_at,
            Lead.number.label("lead_number"),
            Lead.title.label("lead_title"),
            ActivityKind.name.label("kind"),
            User.name.label("author"),
            Stage.name.label("stage_after"),
            Activity.body,
        )
        .join(Lead, Lead.id == Activity.lead_id)
        .join(ActivityKind, ActivityKind.id == Activity.kind_id)
        .outerjoin(User, User.id == Activity.author_id)
        .outerjoin(Stage, Stage.id == Activity.stage_after_id)
        .where(*feed_queries.conditions(filters))
        .order_by(Activity.occurred_at, Activity.id)
        .limit(CHUNK)
    )
    last = None
    while True:
        chunk = statement
        if last is not None:
            # The plain `>=` lets the occurred_at index seek; the OR settles ties.
            chunk = chunk.where(
                and_(
                    Activity.occurred_at >= last.occurred_at,
                    or_(Activity.occurred_at > last.occurred_at, Activity.id > last.id),
                )
            )
        rows = db.session.execute(chunk).all()
        yield from rows
        if len(rows) < CHUNK:
            return
        last = rows[-1]


def table_rows(columns, key):
    """Every row of a table, as `columns`, in the order of its unique `key`."""
    statement = select(*columns).order_by(key).limit(CHUNK)
    last = None
    while True:
        chunk = statement if last is None else statement.where(key > last)
        rows = db.session.execute(chunk).mappings().all()
        yield from rows
        if len(rows) < CHUNK:
            return
        last = rows[-1][key.name]
