"""Reads for the agenda: the sections of a salesperson's day, each a count and its first rows,
and the calendar of planned next steps with its feed.

Every section is a condition on the leads table: open, not archived, the person's (or everyone's),
and then overdue, today, the next seven days, nothing planned, stuck, or gone quiet. A lead can
meet several (overdue, stuck and gone quiet at once); it is listed once, in the first of them, and
counted in each. The counts come from one aggregate, the rows from one limited query per section,
so the page costs the same with 100 leads or 10,000.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import (
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased, joinedload

from crm import funnel, lists
from crm.board.queries import stuck_condition
from crm.buckets import index_of
from crm.extensions import db
from crm.leads.queries import leads_by_id
from crm.models import (
    Call,
    CallStatus,
    ContactPoint,
    Lead,
    PlannedStep,
    Stage,
    StageKind,
    User,
    utcnow,
)
from crm.telephony import calls
from crm.timezones import day_bounds

ROWS = 25


@dataclass
class Section:
    """One section: every lead that meets its condition (`count`), of which it lists `listed`
    (the others are listed in a section above), a page of them (`leads`) from `offset` on."""

    key: str
    count: int = 0
    listed: int = 0
    leads: list = field(default_factory=list)
    offset: int = 0

    @property
    def listed_above(self):
        return self.count - self.listed

    @property
    def more(self):
        return self.offset + len(self.leads) < self.listed


@dataclass(frozen=True)
class Day:
    """The user's today as stored moments (UTC): where it starts, ends, and the week ahead."""

    now: object
    today_starts: object
    today_ends: object
    week_ends: object


def sections_conditions(day, stages, quiet_days):
    """Each section's condition, in the order the page shows them."""
    last_contact = func.coalesce(Lead.last_activity_at, Lead.created_at)
    return {
        "overdue": Lead.next_step_at < day.today_starts,
        "today": and_(Lead.next_step_at >= day.today_starts, Lead.next_step_at < day.today_ends),
        "week": and_(Lead.next_step_at >= day.today_ends, Lead.next_step_at < day.week_ends),
        "unplanned": Lead.next_step_at.is_(None),
        "stuck": stuck_condition(stages, day.now),
        "quiet": last_contact < day.now - timedelta(days=quiet_days),
    }


# The first four sections split the leads by their next step (before today, today, the week
# ahead, none), so a lead is in one of them at most; a stuck or quiet lead may be in any.
STEP_SECTIONS = ("overdue", "today", "week", "unplanned")


def listed_conditions(conditions, day):
    """Each section's condition for the leads it lists: those it shares with no section above
    it, so that a call overdue on a stuck lead is seen once, where it is most urgent. Said for
    each section rather than as one CASE over them all: the counts read every open lead, and
    this costs them two comparisons a lead instead of a dozen."""
    beyond_the_week = Lead.next_step_at >= day.week_ends
    return {
        **{key: conditions[key] for key in STEP_SECTIONS},
        "stuck": and_(conditions["stuck"], beyond_the_week),
        # Never NULL: a stage and the moments the stuck condition compares are always set.
        "quiet": and_(conditions["quiet"], beyond_the_week, not_(conditions["stuck"])),
    }


def section_order(key):
    """What comes first: the longest overdue, the soonest planned, the longest untouched."""
    last_contact = func.coalesce(Lead.last_activity_at, Lead.created_at)
    if key in ("overdue", "today", "week"):
        return [Lead.next_step_at, Lead.id]
    if key == "stuck":
        return [Lead.stage_changed_at, Lead.id]
    return [last_contact, Lead.id]


def base_conditions(owner_id, stages, where=()):
    """Open, kept leads of one owner (or everyone's), meeting `where` too (the agenda's
    filters on the team's fields)."""
    conditions = [Lead.archived == false(), Lead.stage_id.in_([stage.id for stage in stages])]
    if owner_id is not None:
        conditions.append(Lead.owner_id == owner_id)
    return [*conditions, *where]


def counts(owner_id, day, stages, quiet_days, where=(), conditions=None):
    """{section key: (how many leads meet its condition, how many of them it lists)}, in one
    pass over the person's open leads."""
    if not stages:
        return {}
    conditions = conditions or sections_conditions(day, stages, quiet_days)
    listed = listed_conditions(conditions, day)
    shared = [key for key in conditions if key not in STEP_SECTIONS]
    row = db.session.execute(
        select(
            *(func.sum(case((condition, 1), else_=0)) for condition in conditions.values()),
            *(func.sum(case((listed[key], 1), else_=0)) for key in shared),
        ).where(*base_conditions(owner_id, stages, where))
    ).one()
    values = (int(value or 0) for value in row)
    meeting = {key: next(values) for key in conditions}
    listing = meeting | {key: next(values) for key in shared}
    return {key: (meeting[key], listing[key]) for key in conditions}


def section_rows(
    key, owner_id, day, stages, quiet_days, offset=0, limit=ROWS, where=(), conditions=None
):
    """The leads one section lists, a page at a time, with their stage and owner."""
    if not stages:
        return []
    ids = section_ids(key, owner_id, day, stages, quiet_days, offset, limit, where, conditions)
    # Every listed lead is in one of the open `stages`: no need to read its stage again.
    found = leads_by_id(ids, stages)
    return [found[lead_id] for lead_id in ids if lead_id in found]


def section_ids(key, owner_id, day, stages, quiet_days, offset, limit, where, conditions=None):
    conditions = conditions or sections_conditions(day, stages, quiet_days)
    return db.session.scalars(
        select(Lead.id)
        .where(*base_conditions(owner_id, stages, where), listed_conditions(conditions, day)[key])
        .order_by(*section_order(key))
        .offset(offset)
        .limit(limit)
    ).all()


def all_sections(owner_id, day, quiet_days, where=()):
    """Every section with its counts and first rows: the leads of all of them in one query."""
    stages = lists.open_stages()
    if not stages:
        return []
    # Built once: each stage's stuck condition is a dozen expressions, and six sections use it.
    conditions = sections_conditions(day, stages, quiet_days)
    found = counts(owner_id, day, stages, quiet_days, where, conditions)
    listed_ids = {
        key: section_ids(key, owner_id, day, stages, quiet_days, 0, ROWS, where, conditions)
        for key in conditions
        if found.get(key, (0, 0))[1]
    }
    leads = leads_by_id([lead_id for ids in listed_ids.values() for lead_id in ids], stages)
    return [
        Section(
            key,
            *found.get(key, (0, 0)),
            [leads[lead_id] for lead_id in listed_ids.get(key, ()) if lead_id in leads],
        )
        for key in conditions
    ]


# The calendar of planned next steps
#
# A month costs the same few statements whatever the data: one counts every day (each count an
# index range), one takes each day's first ids (a limited range each), one loads those leads.
# Days are the viewer's: each day's bounds are worked out in the user's zone and compared with
# the stored UTC moments, so neither database needs to know zones.

DAY_LIST_MAX = 200
FEED_DAYS_BEFORE = 30
FEED_DAYS_AFTER = 365
FEED_EVENTS_MAX = 2000


@dataclass
class CalendarDay:
    """One day of the calendar: how many leads are planned, and the first few of them."""

    date: date
    count: int = 0
    leads: list = field(default_factory=list)

    @property
    def more(self):
        return self.count - len(self.leads)


def planned(owner_id, pipeline_ids=None):
    """Open, kept leads of one owner (or of everyone, for None), of some pipelines (or of
    every one): those whose next step counts."""
    open_stages = select(Stage.id).where(Stage.kind == StageKind.OPEN)
    found = [
        Lead.archived == false(),
        Lead.stage_id.in_(open_stages),
        # Said the way the board's card index has it, so everyone's days are counted from that
        # index alone (one person's come from the agenda's index).
        Lead.next_step_at.is_(None) == false(),
    ]
    if owner_id is not None:
        found.append(Lead.owner_id == owner_id)
    if pipeline_ids is not None:
        in_pipelines = select(Stage.id).where(Stage.pipeline_id.in_(pipeline_ids))
        found.append(Lead.stage_id.in_(in_pipelines))
    return found


def fill_days(days, owner_id, shown, pipeline_ids=None):
    """Each of `days` with its count and its first `shown` leads, in three statements: every
    day's count, every day's first ids (a limited index range each), and those leads."""
    counting, first_ids = day_statements(len(days), owner_id is None, shown, pipeline_ids)
    params = {"owner_id": owner_id}
    for index, day in enumerate(days):
        params[f"start_{index}"], params[f"end_{index}"] = day_bounds(day)
    counts = db.session.execute(counting, params).one()
    rows = db.session.execute(first_ids, params).all() if any(counts) else []
    leads = leads_by_id([row[0] for row in rows])
    found = [CalendarDay(day, count) for day, count in zip(days, counts, strict=True)]
    for lead_id, index in rows:
        if lead_id in leads:
            found[index].leads.append(leads[lead_id])
    for day in found:
        # A union keeps no order of its own.
        day.leads.sort(key=lambda lead: (lead.next_step_at, lead.id))
    return found


@lru_cache(maxsize=32)
def day_statements(size, everyone, shown, pipeline_ids=None):
    """The two statements of `fill_days` for `size` days, built once: a month's 42 days make
    big statements, and building them costs more than running them."""
    where = planned(None if everyone else bindparam("owner_id"), pipeline_ids)

    def on_day(index):
        moment = Lead.next_step_at
        return [*where, moment >= bindparam(f"start_{index}"), moment < bindparam(f"end_{index}")]

    counting = select(
        *(select(func.count()).where(*on_day(index)).scalar_subquery() for index in range(size))
    )
    first_ids = union_all(
        *(
            select(
                aliased(
                    select(Lead.id, literal(index).label("day"))
                    .where(*on_day(index))
                    .order_by(Lead.next_step_at, Lead.id)
                    .limit(shown)
                    .subquery()
                )
            )
            for index in range(size)
        )
    )
    return counting, first_ids


def day_leads(day, owner_id, pipeline_ids=None, limit=DAY_LIST_MAX):
    """A day's planned leads in the order of their next steps, with their stage and owner."""
    start, end = day_bounds(day)
    return db.session.scalars(
        select(Lead)
        .options(joinedload(Lead.stage), joinedload(Lead.owner))
        .where(
            *planned(owner_id, pipeline_ids), Lead.next_step_at >= start, Lead.next_step_at < end
        )
        .order_by(Lead.next_step_at, Lead.id)
        .limit(limit + 1)
    ).all()


def feed_steps(user):
    """The user's open planned next steps from a month ago to a year ahead: rows, not leads."""
    now = utcnow()
    return db.session.execute(
        select(
            Lead.id,
            Lead.number,
            Lead.title,
            Lead.next_step_at,
            Lead.next_step_note,
            Lead.updated_at,
        )
        .where(
            *planned(user.id),
            Lead.next_step_at >= now - timedelta(days=FEED_DAYS_BEFORE),
            Lead.next_step_at < now + timedelta(days=FEED_DAYS_AFTER),
        )
        .order_by(Lead.next_step_at, Lead.id)
        .limit(FEED_EVENTS_MAX)
    ).all()


# Missed contacts
#
# The cost stays flat with the data: the per-day and per-person counts are one aggregate over an
# index of the steps nobody answered, the steps due before the period are counted only while they
# still stand, and the list is cut at MISSED_LISTED rows.

# The list shows this many steps at most; the counts above it cover them all.
MISSED_LISTED = 100


def missed_conditions(now, owner_id=None, pipeline_ids=None):
    """Steps whose time came while they were still the plan, answered by no contact, on leads
    that are not archived.

    The funnel service records the contact that answered a step as it is logged, so "nothing
    logged since" is a look at the step's own row; the covering indexes that start with that
    column hold everything else asked here.
    """
    archived = select(Lead.id).where(Lead.archived == true())
    found = [
        PlannedStep.kept_by_activity_id.is_(None),
        PlannedStep.due_at < now,
        or_(PlannedStep.ended_at.is_(None), PlannedStep.ended_at > PlannedStep.due_at),
        PlannedStep.lead_id.not_in(archived),
    ]
    if owner_id is not None:
        found.append(PlannedStep.owner_id == owner_id)
    if pipeline_ids is not None:
        found.append(lists.in_pipeline(PlannedStep.lead_id, pipeline_ids))
    return found


def missed_counts(day_starts, now, owner_id=None, pipeline_ids=None):
    """{(day index, owner id): count} of the steps missed in the period, the index into
    `day_starts` (the UTC starts of the period's local days).

    The day is worked out by comparisons with the days' bounds, alike on SQLite and PostgreSQL
    and right across a change of summer time.
    """
    day_index = index_of(PlannedStep.due_at, day_starts).label("day_index")
    missed = (
        select(day_index, PlannedStep.owner_id)
        .where(*missed_conditions(now, owner_id, pipeline_ids), PlannedStep.due_at >= day_starts[0])
        .subquery()
    )
    rows = db.session.execute(
        select(missed.c.day_index, missed.c.owner_id, func.count()).group_by(
            missed.c.day_index, missed.c.owner_id
        )
    ).all()
    return {(index, owner): count for index, owner, count in rows}


def still_waiting_before(start, now, owner_id=None, pipeline_ids=None):
    """How many missed steps due before `start` are still the next step of their lead: the
    older history is summed up by what can still be done about it."""
    return db.session.scalar(
        select(func.count())
        .select_from(PlannedStep)
        .where(
            *missed_conditions(now, owner_id, pipeline_ids),
            PlannedStep.ended_at.is_(None),
            PlannedStep.due_at < start,
        )
    )


def missed_steps(start, end, now, owner_id=None, pipeline_ids=None):
    """The steps missed between `start` and `end`, the most recently due first, with their
    lead and its stage (whose step it was is known from the people already loaded).

    The ids are found on the index alone, then their rows loaded: sorting narrow rows keeps a
    period with thousands missed as quick as one with a few.
    """
    ids = db.session.scalars(
        select(PlannedStep.id)
        .where(
            *missed_conditions(now, owner_id, pipeline_ids),
            PlannedStep.due_at >= start,
            PlannedStep.due_at < end,
        )
        .order_by(PlannedStep.due_at.desc(), PlannedStep.id.desc())
        .limit(MISSED_LISTED)
    ).all()
    if not ids:
        return []
    found = db.session.scalars(
        select(PlannedStep)
        .options(joinedload(PlannedStep.lead).joinedload(Lead.stage))
        .where(PlannedStep.id.in_(ids))
    ).all()
    by_id = {step.id: step for step in found}
    return [by_id[step_id] for step_id in ids if step_id in by_id]


def everyone_by_name():
    return db.session.scalars(select(User).order_by(User.name, User.id)).all()


# The calls from the phone system a person owes something: what was said, or which lead


@dataclass
class CallQueue:
    """The calls waiting for a write-up, and those waiting for their lead, each the first few
    of how many."""

    to_write_up: list = field(default_factory=list)
    to_write_up_count: int = 0
    to_sort: list = field(default_factory=list)
    to_sort_count: int = 0
    # {call id: [(lead number, title, owner name)]}: the leads a call to pick may belong to.
    choices: dict = field(default_factory=dict)


CALL_ROWS = 25


def call_queue(owner_id, visible=(), limit=CALL_ROWS):
    """The person's calls to write up (everyone's for None) and the calls to sort out that are
    theirs or nobody's, oldest first, with their leads: three statements, however many."""
    mine = Call.user_id == owner_id if owner_id is not None else true()
    to_sort = and_(
        Call.status.in_(calls.TO_SORT),
        or_(mine, Call.user_id.is_(None)) if owner_id is not None else true(),
    )
    to_write_up = and_(Call.status.in_(calls.OWED), mine)
    written, sorting = db.session.execute(
        select(
            func.sum(case((to_write_up, 1), else_=0)), func.sum(case((to_sort, 1), else_=0))
        ).where(or_(to_write_up, to_sort))
    ).one()
    queue = CallQueue(to_write_up_count=int(written or 0), to_sort_count=int(sorting or 0))
    if not (written or sorting):
        return queue
    rows = db.session.scalars(
        select(Call)
        .options(joinedload(Call.lead).joinedload(Lead.stage), joinedload(Call.user))
        .where(or_(to_write_up, to_sort))
        .order_by(Call.started_at, Call.id)
        .limit(limit * 2)
    ).all()
    queue.to_write_up = [call for call in rows if call.status in calls.OWED][:limit]
    queue.to_sort = [call for call in rows if call.status in calls.TO_SORT][:limit]
    to_pick = [call for call in queue.to_sort if call.status == CallStatus.TO_PICK]
    queue.choices = lead_choices(to_pick, visible)
    return queue


def lead_choices(to_pick, visible=()):
    """The open leads each call to pick may go to (of those `visible` names), in one
    statement."""
    tails = {call.id: funnel.phone_tail(call.outside_number) for call in to_pick}
    if not any(tails.values()):
        return {}
    found = db.session.execute(
        select(ContactPoint.value, Lead.number, Lead.title, User.name)
        .join(Lead, Lead.id == ContactPoint.lead_id)
        .join(Stage, Stage.id == Lead.stage_id)
        .outerjoin(User, User.id == Lead.owner_id)
        .where(
            ContactPoint.kind == "phone",
            ContactPoint.value.in_({tail for tail in tails.values() if tail}),
            Stage.kind == StageKind.OPEN,
            Lead.archived == false(),
            *visible,
        )
        .order_by(Lead.id.desc())
        .limit(100)
    ).all()
    return {
        call_id: [(row.number, row.title, row.name) for row in found if row.value == tail]
        for call_id, tail in tails.items()
    }
