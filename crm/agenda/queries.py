"""Reads for the agenda: the sections of a salesperson's day, each a count and its first rows.

Every section is a condition on the leads table: open, not archived, the person's (or everyone's),
and then overdue, today, the next seven days, nothing planned, stuck, or gone quiet. The counts
come from one aggregate, the rows from one limited query per section, so the page costs the same
with 100 leads or 10,000.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, case, false, func, select

from crm.board.queries import stuck_condition
from crm.extensions import db
from crm.leads.queries import leads_by_id
from crm.models import AppSetting, Lead, Stage, StageKind

ROWS = 25
QUIET_SETTING = "quiet_after_days"
QUIET_DEFAULT = 14
QUIET_MAX = 365


@dataclass
class Section:
    key: str
    count: int = 0
    leads: list = field(default_factory=list)
    offset: int = 0

    @property
    def more(self):
        return self.offset + len(self.leads) < self.count


def quiet_after_days():
    """After how many days without contact an open lead has gone quiet (Settings, General)."""
    setting = db.session.get(AppSetting, QUIET_SETTING)
    try:
        days = int(setting.value) if setting else QUIET_DEFAULT
    except ValueError:
        days = QUIET_DEFAULT
    return min(max(days, 1), QUIET_MAX)


def open_stages():
    return db.session.scalars(Stage.in_funnel_order().where(Stage.kind == StageKind.OPEN)).all()


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
    stages = open_stages()
    found = counts(owner_id, day, stages, quiet_days)
    sections = []
    for key in sections_conditions(day, stages, quiet_days) if stages else ():
        rows = section_rows(key, owner_id, day, stages, quiet_days) if found.get(key) else []
        sections.append(Section(key, found.get(key, 0), rows))
    return sections
