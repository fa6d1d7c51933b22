"""Reads for the board: each column's first cards, its count and total, and its signature.

The cost stays flat with the data: the cards of a column are one index range (stage, next
step) cut at a limit, all columns in one statement; the counts and totals are one aggregate.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, false, func, literal, or_, select, text, union_all
from sqlalchemy.orm import aliased

from crm.access import scope_condition
from crm.extensions import db
from crm.leads.queries import last_contacts, leads_by_id, search_condition
from crm.models import Lead, Stage

CARDS = 25
# However far "show more" went, a refresh redraws no more than this.
CARDS_MAX = 500
# How far back the won and lost columns count, in days.
PERIODS = (30, 90, 365)
DEFAULT_PERIOD = 30
SOURCES_SHOWN = 200


@dataclass(frozen=True)
class BoardFilters:
    """What the board shows: plain values, checked by the view."""

    owner_id: int | None = None
    search: str = ""
    source: str = ""
    # Next step before this moment (the start of the user's today, in UTC).
    overdue_before: datetime | None = None
    stuck_only: bool = False
    period_days: int = DEFAULT_PERIOD
    # Set for a salesperson who may not see colleagues' leads: see crm.access.
    # What the viewer may see: an access.Scope, or None for every lead.
    restricted_to: object = None
    # On the team's choice fields: crm.field_filters.FieldFilter values.
    fields: tuple = ()


@dataclass
class Column:
    stage: Stage
    count: int = 0
    total: Decimal = Decimal(0)
    # Changes whenever a card in the column appears, leaves or changes.
    signature: str = "0"
    cards: list = field(default_factory=list)
    # Whether a closed column shows its cards (open columns always do).
    expanded: bool = True

    @property
    def more(self):
        return self.expanded and len(self.cards) < self.count


def stuck_since(stage, now):
    """The moment before which being in `stage`, or last contacted, makes a lead stuck."""
    if not stage.stuck_after_days:
        return None
    return now - timedelta(days=stage.stuck_after_days)


def stuck_condition(stages, now):
    """Leads in a stage longer than its threshold, or not contacted for that long."""
    alternatives = []
    for stage in stages:
        since = stuck_since(stage, now)
        if since is None or not stage.is_open:
            continue
        last_contact = func.coalesce(Lead.last_activity_at, Lead.created_at)
        alternatives.append(
            and_(
                Lead.stage_id == stage.id,
                or_(Lead.stage_changed_at <= since, last_contact <= since),
            )
        )
    return or_(*alternatives) if alternatives else false()


def is_stuck(lead, stage, now):
    since = stuck_since(stage, now)
    if since is None or not stage.is_open:
        return False
    return lead.stage_changed_at <= since or (lead.last_activity_at or lead.created_at) <= since


def conditions(filters, stages, now):
    found = [Lead.archived == false(), search_condition(filters.search)]
    found += scope_condition(filters.restricted_to)
    if filters.owner_id is not None:
        found.append(Lead.owner_id == filters.owner_id)
    if filters.source:
        found.append(Lead.source == filters.source)
    if filters.overdue_before is not None:
        found.append(Lead.next_step_at < filters.overdue_before)
    if filters.stuck_only:
        found.append(stuck_condition(stages, now))
    found.extend(field_filter.condition() for field_filter in filters.fields)
    return found


def in_column(stage, filters, now):
    """A closed column holds only what closed within the period."""
    if stage.is_open:
        return Lead.stage_id == stage.id
    since = now - timedelta(days=filters.period_days)
    return and_(Lead.stage_id == stage.id, Lead.stage_changed_at >= since)


def card_order(stage):
    """Open: what is due first, then who was contacted longest ago. Closed: newest first."""
    if not stage.is_open:
        return [Lead.stage_changed_at.desc(), Lead.id.desc()]
    # In the order of the ix_leads_board_cards index, so no sort is needed.
    return [Lead.next_step_at.is_(None), Lead.next_step_at, Lead.last_activity_at, Lead.id]


def summaries(stages, filters, now):
    """Count, total and signature of every column: open columns in one aggregate, read from
    the covering index alone, and the closed ones within the period in another."""
    where = conditions(filters, stages, now)
    open_ids = [stage.id for stage in stages if stage.is_open]
    closed_ids = [stage.id for stage in stages if not stage.is_open]
    since = now - timedelta(days=filters.period_days)
    groups = []
    if open_ids:
        groups.append([Lead.stage_id.in_(open_ids)])
    if closed_ids:
        groups.append([Lead.stage_id.in_(closed_ids), Lead.stage_changed_at >= since])
    found = {}
    for group in groups:
        rows = db.session.execute(
            select(
                Lead.stage_id,
                func.count(),
                func.sum(Lead.value),
                func.max(Lead.updated_at),
                func.max(Lead.id),
            )
            .where(*where, *group)
            .group_by(Lead.stage_id)
        ).all()
        for stage_id, count, total, changed, newest in rows:
            found[stage_id] = (
                count,
                total or Decimal(0),
                f"{count}.{total or 0}.{changed}.{newest}",
            )
    return found


def card_ids(wanted, filters, stages, now):
    """The ids of the cards each wanted column shows: {stage id: (offset, limit)} in,
    {stage id: [ids]} out, in one statement (a limited range per column)."""
    by_id = {stage.id: stage for stage in stages}
    where = conditions(filters, stages, now)
    parts = []
    for stage_id, (offset, limit) in wanted.items():
        stage = by_id[stage_id]
        part = (
            select(Lead.id, literal(stage_id).label("column"))
            .where(*where, in_column(stage, filters, now))
            .order_by(*card_order(stage))
            .offset(offset)
            .limit(limit)
        )
        parts.append(select(aliased(part.subquery())))
    if not parts:
        return {}
    found = {stage_id: [] for stage_id in wanted}
    for row in db.session.execute(union_all(*parts)).all():
        found[row[1]].append(row[0])
    return found


def load_cards(ids_by_column, stages):
    """The leads with their stage (one of `stages`) and owner, and the last contact hints, in
    two queries."""
    all_ids = [lead_id for ids in ids_by_column.values() for lead_id in ids]
    leads = leads_by_id(all_ids, stages)
    hints = last_contacts(leads.values())
    cards = {
        stage_id: [leads[lead_id] for lead_id in ids if lead_id in leads]
        for stage_id, ids in ids_by_column.items()
    }
    return cards, hints


# Walks the source index from one distinct value to the next (a "loose index scan"), so the
# cost follows the number of sources, not of leads; the same SQL runs on SQLite and PostgreSQL.
DISTINCT_SOURCES = text(
    """
    WITH RECURSIVE found(source) AS (
        SELECT min(source) FROM leads WHERE source > ''
        UNION ALL
        SELECT (SELECT min(source) FROM leads WHERE source > found.source)
        FROM found WHERE found.source IS NOT NULL
    )
    SELECT source FROM found WHERE source IS NOT NULL LIMIT :shown
    """
)


def sources():
    """The distinct sources, alphabetically."""
    return db.session.scalars(DISTINCT_SOURCES, {"shown": SOURCES_SHOWN}).all()
