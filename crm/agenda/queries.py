"""Reads for the agenda: the sections of a salesperson's day, each a count and its first rows,
and the calendar of planned next steps with its feed.

Every section is a condition on the leads table: open, not archived, the person's (or everyone's),
and then overdue, today, the next seven days, nothing planned, stuck, or gone quiet. The counts
come from one aggregate, the rows from one limited query per section, so the page costs the same
with 100 leads or 10,000.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import and_, bindparam, case, false, func, literal, select, union_all
from sqlalchemy.orm import aliased, joinedload

from crm import lists
from crm.board.queries import stuck_condition
from crm.extensions import db
from crm.leads.queries import leads_by_id
from crm.models import Lead, Stage, StageKind, utcnow
from crm.timezones import day_bounds

ROWS = 25


@dataclass
class Section:
    key: str
    count: int = 0
    leads: list = field(default_factory=list)
    offset: int = 0

    @property
    def more(self):
        return self.offset + len(self.leads) < self.count


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


def section_order(key):
    """What comes first: the longest overdue, the soonest planned, the longest untouched."""
    last_contact = func.coalesce(Lead.last_activity_at, Lead.created_at)
    if key in ("overdue", "today", "week"):
        return [Lead.next_step_at, Lead.id]
    if key == "stuck":
        return [Lead.stage_changed_at, Lead.id]
    return [last_contact, Lead.id]


def base_conditions(owner_id, stages):
    conditions = [Lead.archived == false(), Lead.stage_id.in_([stage.id for stage in stages])]
    if owner_id is not None:
        conditions.append(Lead.owner_id == owner_id)
    return conditions


def counts(owner_id, day, stages, quiet_days):
    """Every section's count, in one pass over the person's open leads."""
    if not stages:
        return {}
    conditions = sections_conditions(day, stages, quiet_days)
    columns = [func.sum(case((condition, 1), else_=0)) for condition in conditions.values()]
    row = db.session.execute(select(*columns).where(*base_conditions(owner_id, stages))).one()
    return {key: int(value or 0) for key, value in zip(conditions, row, strict=True)}


def section_rows(key, owner_id, day, stages, quiet_days, offset=0, limit=ROWS):
    """One section's leads, a page at a time, with their stage and owner."""
    if not stages:
        return []
    condition = sections_conditions(day, stages, quiet_days)[key]
    ids = db.session.scalars(
        select(Lead.id)
        .where(*base_conditions(owner_id, stages), condition)
        .order_by(*section_order(key))
        .offset(offset)
        .limit(limit)
    ).all()
    found = leads_by_id(ids)
    return [found[lead_id] for lead_id in ids if lead_id in found]


def all_sections(owner_id, day, quiet_days):
    stages = lists.open_stages()
    found = counts(owner_id, day, stages, quiet_days)
    sections = []
    for key in sections_conditions(day, stages, quiet_days) if stages else ():
        rows = section_rows(key, owner_id, day, stages, quiet_days) if found.get(key) else []
        sections.append(Section(key, found.get(key, 0), rows))
    return sections


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


def planned(owner_id):
    """Open, kept leads of one owner (or of everyone, for None): those whose next step counts."""
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
    return found


def fill_days(days, owner_id, shown):
    """Each of `days` with its count and its first `shown` leads, in three statements: every
    day's count, every day's first ids (a limited index range each), and those leads."""
    counting, first_ids = day_statements(len(days), owner_id is None, shown)
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
def day_statements(size, everyone, shown):
    """The two statements of `fill_days` for `size` days, built once: a month's 42 days make
    big statements, and building them costs more than running them."""
    where = planned(None if everyone else bindparam("owner_id"))

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


def day_leads(day, owner_id, limit=DAY_LIST_MAX):
    """A day's planned leads in the order of their next steps, with their stage and owner."""
    start, end = day_bounds(day)
    return db.session.scalars(
        select(Lead)
        .options(joinedload(Lead.stage), joinedload(Lead.owner))
        .where(*planned(owner_id), Lead.next_step_at >= start, Lead.next_step_at < end)
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
