"""Activity: the contacts each person logged, week by week and by kind; how many contacts a won
lead took; and whose next steps are overdue.

A contact counts for its author, whoever owns the lead, so here the owner filter picks the
author; the lead's source and its being archived still decide which leads count. Overdue next
steps belong to the lead's owner.
"""

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    DateTime,
    Integer,
    and_,
    column,
    distinct,
    func,
    join,
    not_,
    null,
    select,
    true,
    union_all,
    values,
)

from crm.analytics.filters import parse_day
from crm.analytics.reports import LeadsBehind, Report, Table
from crm.args import id_arg
from crm.buckets import index_of, local_starts, weeks_from
from crm.extensions import db
from crm.formatting import day
from crm.models import Activity, ActivityKind, Lead, Stage, StageKind, User
from crm.timezones import day_bounds, local_today, user_zone

# The drill-down value naming the leads no one owns.
NONE = "none"
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Kind:
    id: int
    name: str


@dataclass(frozen=True)
class Person:
    """One person's contacts in the period: in all, by kind and by week."""

    id: int | None
    name: str | None
    total: int
    per_week: Decimal
    # Counts in the order of the result's kinds, of its weeks, and of both (kind, then week).
    by_kind: tuple
    by_week: tuple
    cells: tuple


@dataclass(frozen=True)
class WonLeads:
    """Contacts logged on leads won in the period, and on how many of those leads."""

    id: int | None
    name: str | None
    contacts: int
    leads: int

    @property
    def per_lead(self):
        return tenths(self.contacts, self.leads)


@dataclass(frozen=True)
class Overdue:
    """An owner's open leads whose next step was due before today (id None: no owner)."""

    id: int | None
    name: str | None
    count: int


@dataclass(frozen=True)
class ActivityReport:
    kinds: tuple
    # The Monday of each week the period touches; the first and last may be cut short.
    weeks: tuple
    people: tuple
    everyone: Person
    # The most contacts one person logged in one week: the scale of the weekly strips.
    busiest_week: int
    won: tuple
    won_everyone: WonLeads
    overdue: tuple
    overdue_total: int


def tenths(count, out_of):
    """`count / out_of` to one decimal; None when dividing by nothing."""
    if not out_of:
        return None
    return (Decimal(count) / Decimal(out_of)).quantize(TENTH, rounding=ROUND_HALF_UP)


# What is counted


def leads_counted_conditions(filters):
    """The leads whose contacts count: the owner filter names the author instead."""
    return replace(filters, owner_id=None).lead_conditions()


def leads_counted(filters):
    return select(Lead.id).where(*leads_counted_conditions(filters))


def on_counted_leads(filters):
    return Activity.lead_id.in_(leads_counted(filters))


def authored(filters):
    """Contacts that count, on whichever lead: not deleted, by someone, by the chosen author."""
    found = [Activity.deleted_at.is_(None), Activity.author_id.is_not(None)]
    if filters.owner_id is not None:
        found.append(Activity.author_id == filters.owner_id)
    return found


def contact_conditions(filters):
    """Contacts counted, whenever they happened."""
    return [*authored(filters), on_counted_leads(filters)]


def within(moment, starts, ends):
    return [moment >= starts, moment < ends]


def week_spans(filters):
    """Each week's Monday and the stored moments it starts and ends, cut to the period."""
    mondays = weeks_from(filters.first_day, filters.last_day)
    starts = local_starts(mondays)
    starts[0] = filters.start
    return mondays, starts, [*starts[1:], filters.end]


def won_leads(filters):
    """The counted leads won in the period: in a won stage they entered in the period."""
    won_stages = select(Stage.id).where(Stage.kind == StageKind.WON)
    return leads_counted(filters).where(
        Lead.stage_id.in_(won_stages), *within(Lead.stage_changed_at, filters.start, filters.end)
    )


def overdue_conditions(filters, today_starts):
    open_stages = select(Stage.id).where(Stage.kind == StageKind.OPEN)
    return [
        *filters.lead_conditions(),
        Lead.stage_id.in_(open_stages),
        Lead.next_step_at < today_starts,
    ]


def today_starts():
    return day_bounds(local_today())[0]


# The queries


def contacts_query(filters, mondays, starts, ends):
    """Contacts per person, kind and week: (author id, name, kind id, week, contacts) rows.

    SQLite sorts for every GROUP BY it cannot read off an index, and sorting half a million
    contacts a year takes longer than the page may; looking up each one's lead costs as much
    again. So when nearly every lead counts (no source chosen), the contacts of each person,
    kind and week are counted off a range of an index, in order, and those on the few leads
    left out (archived) are taken away. A source's leads, or a field option's, are fewer: their
    contacts are found through them and grouped."""
    if filters.narrows_leads:
        counted = by_week(filters, starts, on_counted_leads(filters))
        return select(
            User.id, User.name, counted.c.kind_id, counted.c.week, counted.c.contacts
        ).join(counted, counted.c.author_id == User.id)
    weeks = (
        values(
            column("week", Integer),
            column("starts", DateTime),
            column("ends", DateTime),
            name="report_weeks",
        )
        .data(list(zip(range(len(mondays)), starts, ends, strict=True)))
        .cte("report_weeks")
    )
    every_contact = (
        select(func.count())
        .where(
            Activity.author_id == User.id,
            Activity.kind_id == ActivityKind.id,
            *within(Activity.occurred_at, weeks.c.starts, weeks.c.ends),
            *authored(filters),
        )
        .scalar_subquery()
    )
    left_out = by_week(filters, starts, Activity.lead_id.in_(leads_left_out(filters)))
    cells = (
        join(User, ActivityKind, true())
        .join(weeks, true())
        .outerjoin(
            left_out,
            and_(
                left_out.c.author_id == User.id,
                left_out.c.kind_id == ActivityKind.id,
                left_out.c.week == weeks.c.week,
            ),
        )
    )
    query = select(
        User.id,
        User.name,
        ActivityKind.id,
        weeks.c.week,
        every_contact - func.coalesce(left_out.c.contacts, 0),
    ).select_from(cells)
    if filters.owner_id is not None:
        query = query.where(User.id == filters.owner_id)
    return query


def leads_left_out(filters):
    """The leads whose contacts do not count. Without a source or field option chosen the
    conditions are never NULL (`archived` is NOT NULL), so their negation is exactly the leads
    left out."""
    return select(Lead.id).where(not_(and_(*leads_counted_conditions(filters))))


def by_week(filters, starts, on_leads):
    """The contacts in the period on the leads `on_leads` names, by author, kind and week."""
    contacts = (
        select(
            Activity.author_id.label("author_id"),
            Activity.kind_id.label("kind_id"),
            index_of(Activity.occurred_at, starts).label("week"),
        )
        .where(
            on_leads,
            *within(Activity.occurred_at, filters.start, filters.end),
            *authored(filters),
        )
        .subquery()
    )
    return (
        select(
            contacts.c.author_id,
            contacts.c.kind_id,
            contacts.c.week,
            func.count().label("contacts"),
        )
        .group_by(contacts.c.author_id, contacts.c.kind_id, contacts.c.week)
        .subquery()
    )


def won_query(filters):
    """Per person, the contacts on leads won in the period and how many such leads; and the
    same for everyone (a row with no person), as a lead may have several authors."""
    per_lead = (
        select(
            Activity.lead_id.label("lead_id"),
            Activity.author_id.label("author_id"),
            func.count().label("contacts"),
        )
        .where(
            Activity.lead_id.in_(won_leads(filters)),
            *within(Activity.occurred_at, filters.start, filters.end),
            *authored(filters),
        )
        .group_by(Activity.lead_id, Activity.author_id)
        .cte("contacts_per_won_lead")
    )
    people = (
        select(User.id, User.name, func.sum(per_lead.c.contacts), func.count())
        .join(per_lead, per_lead.c.author_id == User.id)
        .group_by(User.id, User.name)
    )
    everyone = select(
        null(), null(), func.sum(per_lead.c.contacts), func.count(distinct(per_lead.c.lead_id))
    )
    return union_all(people, everyone)


def overdue_query(filters):
    return (
        select(Lead.owner_id, User.name, func.count())
        .select_from(Lead)
        .outerjoin(User, User.id == Lead.owner_id)
        .where(*overdue_conditions(filters, today_starts()))
        .group_by(Lead.owner_id, User.name)
    )


def kinds_in_order():
    return db.session.execute(
        select(ActivityKind.id, ActivityKind.name, ActivityKind.active).order_by(
            ActivityKind.position, ActivityKind.id
        )
    ).all()


# The report


def compute(filters):
    mondays, starts, ends = week_spans(filters)
    counts = {}
    names = {}
    for author_id, name, kind_id, week, count in db.session.execute(
        contacts_query(filters, mondays, starts, ends)
    ):
        if count:
            counts[author_id, kind_id, week] = count
            names[author_id] = name
    used_kinds = {kind_id for _author, kind_id, _week in counts}
    kinds = tuple(
        Kind(kind_id, name)
        for kind_id, name, active in kinds_in_order()
        if active or kind_id in used_kinds
    )
    days = (filters.last_day - filters.first_day).days + 1
    weeks = range(len(mondays))

    def person(author_id, name, authors):
        cells = tuple(
            tuple(sum(counts.get((a, kind.id, week), 0) for a in authors) for week in weeks)
            for kind in kinds
        )
        by_kind = tuple(sum(row) for row in cells)
        by_week = tuple(sum(row[week] for row in cells) for week in weeks)
        total = sum(by_kind)
        return Person(author_id, name, total, tenths(total * 7, days), by_kind, by_week, cells)

    people = [person(author_id, name, [author_id]) for author_id, name in names.items()]
    people.sort(key=lambda each: (-each.total, each.name, each.id))
    everyone = person(None, None, list(names))

    won = []
    won_everyone = WonLeads(None, None, 0, 0)
    for author_id, name, contacts, leads in db.session.execute(won_query(filters)):
        row = WonLeads(author_id, name, int(contacts or 0), int(leads or 0))
        if author_id is None:
            won_everyone = row
        else:
            won.append(row)
    won.sort(key=lambda each: (-each.leads, each.name, each.id))

    overdue = [
        Overdue(owner_id, name, count)
        for owner_id, name, count in db.session.execute(overdue_query(filters))
    ]
    # No owner last among equals: a name sorts before None.
    overdue.sort(key=lambda each: (-each.count, each.name is None, each.name or "", each.id or 0))

    return ActivityReport(
        kinds=kinds,
        weeks=tuple(mondays),
        people=tuple(people),
        everyone=everyone,
        busiest_week=max((n for each in people for n in each.by_week), default=0),
        won=tuple(won),
        won_everyone=won_everyone,
        overdue=tuple(overdue),
        overdue_total=sum(each.count for each in overdue),
    )


def tables(filters, result):
    contacts = [
        [each.name, kind.name, monday, count]
        for each in result.people
        for kind, row in zip(result.kinds, each.cells, strict=True)
        for monday, count in zip(result.weeks, row, strict=True)
        if count
    ]
    everyone = _("Everyone")
    per_won = [
        [row.name or everyone, row.contacts, row.leads, row.per_lead]
        for row in (*result.won, result.won_everyone)
        if row.leads
    ]
    nobody = _("Nobody")
    return {
        "contacts": Table([_("Person"), _("Kind"), _("Week"), _("Contacts")], contacts),
        "per-won-lead": Table(
            [_("Person"), _("Contacts on won leads"), _("Won leads"), _("Contacts per won lead")],
            per_won,
        ),
        "overdue": Table(
            [_("Owner"), _("Overdue next steps")],
            [[row.name or nobody, row.count] for row in result.overdue],
        ),
    }


# The leads behind a number


class Absent:
    """An argument not given: the number is not narrowed by it."""


ABSENT = Absent()


def argument(args, name, parse):
    """ABSENT when not given, None when it names nothing, else the parsed value."""
    if name not in args:
        return ABSENT
    return parse(args.get(name))


def week_of(filters):
    """The parser of a week argument: a Monday of the period, as (Monday, start, end)."""
    mondays, starts, ends = week_spans(filters)
    spans = {each[0]: each for each in zip(mondays, starts, ends, strict=True)}
    return lambda text: spans.get(parse_day(text)) if text and len(text) == 10 else None


def owner_arg(text):
    if text == NONE:
        return NONE
    return id_arg(text)


def leads(filters, args):
    table = args.get("table")
    if table == "contacts":
        return contacts_behind(filters, args)
    if table == "per-won-lead":
        return won_behind(filters, args)
    if table == "overdue":
        return overdue_behind(filters, args)
    return None


def contacts_behind(filters, args):
    author_id = argument(args, "author", id_arg)
    kind_id = argument(args, "kind", id_arg)
    week = argument(args, "week", week_of(filters))
    if None in (author_id, kind_id, week):
        return None
    caption = [_("Contacts")]
    conditions = [
        *contact_conditions(filters),
        *within(Activity.occurred_at, filters.start, filters.end),
    ]
    if author_id is not ABSENT:
        author = db.session.get(User, author_id)
        if author is None:
            return None
        caption.append(author.name)
        conditions.append(Activity.author_id == author_id)
    if kind_id is not ABSENT:
        kind = db.session.get(ActivityKind, kind_id)
        if kind is None:
            return None
        caption.append(kind.name)
        conditions.append(Activity.kind_id == kind_id)
    if week is not ABSENT:
        monday, starts, ends = week
        caption.append(_("week of %(day)s", day=day(monday)))
        conditions.extend(within(Activity.occurred_at, starts, ends))
    ids = select(Activity.lead_id).where(*conditions).distinct()
    return LeadsBehind(ids, ", ".join(caption))


def won_behind(filters, args):
    author_id = argument(args, "author", id_arg)
    if author_id is None:
        return None
    caption = [_("Won leads with contacts")]
    conditions = [
        Activity.lead_id.in_(won_leads(filters)),
        *within(Activity.occurred_at, filters.start, filters.end),
        *authored(filters),
    ]
    if author_id is not ABSENT:
        author = db.session.get(User, author_id)
        if author is None:
            return None
        caption.append(author.name)
        conditions.append(Activity.author_id == author_id)
    ids = select(Activity.lead_id).where(*conditions).distinct()
    return LeadsBehind(ids, ", ".join(caption))


def overdue_behind(filters, args):
    owner_id = argument(args, "person", owner_arg)
    if owner_id is None:
        return None
    caption = [_("Overdue next steps")]
    conditions = overdue_conditions(filters, today_starts())
    if owner_id == NONE:
        caption.append(_("Nobody"))
        conditions.append(Lead.owner_id.is_(None))
    elif owner_id is not ABSENT:
        owner = db.session.get(User, owner_id)
        if owner is None:
            return None
        caption.append(owner.name)
        conditions.append(Lead.owner_id == owner_id)
    return LeadsBehind(select(Lead.id).where(*conditions), ", ".join(caption))


def moves_with():
    # Overdue is counted up to the start of the user's today; the weeks begin on the user's
    # Mondays, which the filters name as dates, not moments.
    return local_today(), str(user_zone())


REPORT = Report(
    slug="activity",
    title=_l("Activity"),
    template="analytics/activity.html",
    compute=compute,
    tables=tables,
    leads=leads,
    moves_with=moves_with,
)
