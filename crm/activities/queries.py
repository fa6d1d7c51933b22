"""Reads for the activities feed: one page of contacts across leads, and counts per kind.

Both walk ix_activities_occurred_at over the chosen range only, so their cost follows the
size of the range and the page, not of the table.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import contains_eager

from crm import lists
from crm.access import scope_condition
from crm.models import Activity, ActivityKind, Lead, Stage, User

PAGE_SIZE = 50
COUNT_LIMIT = 5000
# The stage filter has no index of its own, so counting with it scans the whole range:
# only done for ranges up to this many days.
STAGE_COUNT_DAYS = 31


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last row's time and id (ids break ties between equal times)."""

    occurred_at: datetime
    id: int


@dataclass(frozen=True)
class Filters:
    """What the feed shows: a stored (UTC) time range and optional author, kind, stage after."""

    start: datetime
    end: datetime
    author_id: int | None = None
    kind_id: int | None = None
    stage_id: int | None = None
    # Contacts with the leads in this pipeline now.
    pipeline_id: int | None = None
    # What the viewer may see: an access.Scope, or None for every lead (see crm.access).
    restricted_to: object = None


def conditions(filters, with_kind=True):
    """WHERE terms for `filters`; deleted activities never show."""
    terms = [
        Activity.deleted_at.is_(None),
        Activity.occurred_at >= filters.start,
        Activity.occurred_at < filters.end,
    ]
    if filters.author_id is not None:
        terms.append(Activity.author_id == filters.author_id)
    if with_kind and filters.kind_id is not None:
        terms.append(Activity.kind_id == filters.kind_id)
    if filters.stage_id is not None:
        terms.append(Activity.stage_after_id == filters.stage_id)
    if filters.pipeline_id is not None:
        terms.append(lists.in_pipeline(Activity.lead_id, filters.pipeline_id))
    if filters.restricted_to is not None:
        visible = select(Lead.id).where(*scope_condition(filters.restricted_to))
        terms.append(Activity.lead_id.in_(visible))
    return terms


def older_than(cursor):
    # The plain `<=` bound lets both databases seek the occurred_at index; the OR only
    # settles ties at that exact moment.
    return and_(
        Activity.occurred_at <= cursor.occurred_at,
        or_(Activity.occurred_at < cursor.occurred_at, Activity.id < cursor.id),
    )


def feed_page(filters, before=None, limit=PAGE_SIZE):
    """Newest first: up to `limit` + 1 activities (the extra one says an older page exists).

    Lead, kind, author and stage come in the same statement, so a page is one query.
    """
    statement = (
        select(Activity)
        .join(Activity.lead)
        .join(Activity.kind)
        .outerjoin(Activity.author)
        .outerjoin(Activity.stage_after)
        .options(
            contains_eager(Activity.lead).load_only(
                Lead.id, Lead.number, Lead.title, Lead.archived, raiseload=True
            ),
            contains_eager(Activity.kind),
            contains_eager(Activity.author).load_only(User.id, User.name, raiseload=True),
            contains_eager(Activity.stage_after),
        )
        .where(*conditions(filters))
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        statement = statement.where(older_than(before))
    return statement


def counts_by_kind(filters, limit=COUNT_LIMIT):
    """(kind_id, count) for the range and the other filters (the kind filter is ignored).

    Only the first `limit` + 1 activities are counted, so a range of years costs no more than
    a busy week; a total above `limit` means "more than `limit`".
    """
    matching = (
        select(Activity.kind_id).where(*conditions(filters, with_kind=False)).limit(limit + 1)
    ).subquery()
    return select(matching.c.kind_id, func.count()).group_by(matching.c.kind_id)


def authors():
    """Everyone who can have written an activity, active people first."""
    return select(User.id, User.name, User.active).order_by(User.active.desc(), User.name, User.id)


def kinds():
    return select(ActivityKind).order_by(ActivityKind.position, ActivityKind.id)


def stages():
    return Stage.in_funnel_order()
