"""Reads for the lead page: pick lists and the timeline, a page at a time."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from crm.extensions import db
from crm.models import Activity, ActivityKind, LostReason, Stage, StageChange, User

TIMELINE_PAGE = 20
# Within one moment, an activity is shown above the stage changes of the same moment.
ACTIVITY_RANK, CHANGE_RANK = 1, 0


def stages_in_order():
    return db.session.scalars(Stage.in_funnel_order()).all()


def activity_kinds():
    return db.session.scalars(
        select(ActivityKind).where(ActivityKind.active).order_by(ActivityKind.position)
    ).all()


def lost_reasons():
    return db.session.scalars(
        select(LostReason).where(LostReason.active).order_by(LostReason.position)
    ).all()


def team():
    return db.session.scalars(select(User).where(User.active).order_by(User.name)).all()


@dataclass
class TimelineItem:
    """An activity, or a stage change made without one (the board, an import, creation)."""

    at: datetime
    rank: int
    id: int
    activity: Activity | None = None
    change: StageChange | None = None
    moved_from: Stage | None = None
    moved_to: Stage | None = None
    changed_by: str | None = None

    @property
    def cursor(self):
        return f"{self.at.isoformat()}~{self.rank}~{self.id}"


def before_clause(time_column, id_column, rank, before):
    """Rows that come after the cursor in newest-first order of (time, rank, id)."""
    if before is None:
        return True
    at, cursor_rank, cursor_id = before
    if rank < cursor_rank:
        return time_column <= at
    if rank > cursor_rank:
        return time_column < at
    return or_(time_column < at, and_(time_column == at, id_column < cursor_id))


def timeline_page(lead, stage_by_id, before=None, limit=TIMELINE_PAGE):
    """One page of the timeline, newest first, and the cursor for the next (or None)."""
    activities = db.session.execute(
        select(Activity, StageChange.from_stage_id)
        .options(joinedload(Activity.author), joinedload(Activity.kind))
        .outerjoin(StageChange, StageChange.activity_id == Activity.id)
        .where(
            Activity.lead_id == lead.id,
            Activity.deleted_at.is_(None),
            before_clause(Activity.occurred_at, Activity.id, ACTIVITY_RANK, before),
        )
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(limit + 1)
    ).all()
    changes = db.session.execute(
        select(StageChange, User.name)
        .outerjoin(User, User.id == StageChange.changed_by_id)
        .outerjoin(Activity, Activity.id == StageChange.activity_id)
        .where(
            StageChange.lead_id == lead.id,
            # Shown on its own unless its activity shows it (a deleted one does not).
            or_(StageChange.activity_id.is_(None), Activity.deleted_at.isnot(None)),
            before_clause(StageChange.changed_at, StageChange.id, CHANGE_RANK, before),
        )
        .order_by(StageChange.changed_at.desc(), StageChange.id.desc())
        .limit(limit + 1)
    ).all()
    items = [
        TimelineItem(
            a.occurred_at,
            ACTIVITY_RANK,
            a.id,
            activity=a,
            moved_from=stage_by_id.get(from_stage_id),
            moved_to=stage_by_id.get(a.stage_after_id),
        )
        for a, from_stage_id in activities
    ] + [
        TimelineItem(
            c.changed_at,
            CHANGE_RANK,
            c.id,
            change=c,
            changed_by=name,
            moved_from=stage_by_id.get(c.from_stage_id),
            moved_to=stage_by_id.get(c.to_stage_id),
        )
        for c, name in changes
    ]
    items.sort(key=lambda item: (item.at, item.rank, item.id), reverse=True)
    page = items[:limit]
    more = page[-1].cursor if len(items) > limit else None
    return page, more
