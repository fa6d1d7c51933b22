"""Missed contacts: planned next steps that passed with nothing logged since.

A lead stores only its current next step: moving a step to another day, or replacing it when a
contact is logged, leaves no record of the step before. So what can be counted honestly is the
steps still waiting now: open leads whose next step is due and on which nothing was logged since,
counted on the day (in the viewer's zone) they were due.

The cost stays flat with the data: the per-day and per-person counts are one aggregate over the
overdue leads, and the list is cut at LISTED rows.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from babel import dates
from flask import request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import case, false, func, literal_column, or_, select

from crm import htmx
from crm.agenda import bp
from crm.errors import render_error
from crm.extensions import db
from crm.formatting import medium_date
from crm.i18n import user_locale
from crm.leads.queries import last_contacts, leads_by_id
from crm.leads.views import id_arg
from crm.models import Lead, Role, Stage, StageKind, User, utcnow
from crm.timezones import day_bounds, local_today, user_zone

# How many days back the page looks.
PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
# The list shows this many leads at most; the counts above it cover them all.
LISTED = 100
OWNER_MINE, OWNER_EVERYONE = "me", "everyone"
# A bar's height in steps of a tenth of the busiest day (classes missed-bar-0 to missed-bar-10).
BAR_STEPS = 10
# The bucket of steps due before the period.
EARLIER = -1


# Reads


def missed_conditions(now, owner_id=None):
    """Open, unarchived leads whose next step is due and on which nothing was logged since.

    The funnel service keeps `last_activity_at` as the newest contact that was not deleted, so
    "nothing logged at or after the step" is a comparison on the lead's own row.
    """
    open_stages = select(Stage.id).where(Stage.kind == StageKind.OPEN)
    found = [
        Lead.archived == false(),
        Lead.stage_id.in_(open_stages),
        Lead.next_step_at < now,
        or_(Lead.last_activity_at.is_(None), Lead.last_activity_at < Lead.next_step_at),
    ]
    if owner_id is not None:
        found.append(Lead.owner_id == owner_id)
    return found


def missed_counts(day_starts, now, owner_id=None):
    """{(day index, owner id): count} of missed steps, the index into `day_starts` (the UTC
    starts of the period's local days); EARLIER counts those due before the period.

    The day is worked out by comparisons with the days' bounds, alike on SQLite and PostgreSQL
    and right across a change of summer time.
    """
    day_index = day_index_of(Lead.next_step_at, day_starts, EARLIER, len(day_starts) - 1).label(
        "day_index"
    )
    missed = select(day_index, Lead.owner_id).where(*missed_conditions(now, owner_id)).subquery()
    rows = db.session.execute(
        select(missed.c.day_index, missed.c.owner_id, func.count()).group_by(
            missed.c.day_index, missed.c.owner_id
        )
    ).all()
    return {(index, owner): count for index, owner, count in rows}


def day_index_of(moment, day_starts, low, high):
    """Which day `moment` falls on, known to be between `low` and `high`: halving the range at
    each step, so a row needs seven comparisons for ninety days rather than up to ninety."""
    if low == high:
        return literal_column(str(int(low)))
    middle = (low + high + 1) // 2
    return case(
        (moment < day_starts[middle], day_index_of(moment, day_starts, low, middle - 1)),
        else_=day_index_of(moment, day_starts, middle, high),
    )


def missed_leads(start, end, now, owner_id=None):
    """The missed leads due between `start` and `end`, the most recently due first, with their
    stage and owner.

    The ids are found on the leads table alone, then their rows loaded: sorting narrow rows
    keeps a period with thousands missed as quick as one with a few.
    """
    ids = db.session.scalars(
        select(Lead.id)
        .where(
            *missed_conditions(now, owner_id),
            Lead.next_step_at >= start,
            Lead.next_step_at < end,
        )
        .order_by(Lead.next_step_at.desc(), Lead.id.desc())
        .limit(LISTED)
    ).all()
    found = leads_by_id(ids)
    return [found[lead_id] for lead_id in ids if lead_id in found]


def everyone_by_name():
    return db.session.scalars(select(User).order_by(User.name, User.id)).all()


# What the URL asks for


def may_see_others(user):
    return user.role in (Role.ADMIN, Role.MANAGER)


class NotYours(Exception):
    """A salesperson asked for someone else's missed contacts."""


class NoSuchPerson(Exception):
    """The address names an account that does not exist."""


class MissedView:
    """The page as the URL describes it: whose steps, how many days back, and which day."""

    def __init__(self, args, user, today):
        self.user = user
        self.today = today
        period = id_arg(args.get("days"))
        self.period = period if period in PERIODS else DEFAULT_PERIOD
        owner = (args.get("owner") or "").strip()
        if owner == str(user.id):
            owner = OWNER_MINE
        if owner != OWNER_EVERYONE and not id_arg(owner):
            owner = OWNER_MINE
        if owner != OWNER_MINE and not may_see_others(user):
            raise NotYours
        self.owner = owner
        self.days = [today - timedelta(days=back) for back in range(self.period - 1, -1, -1)]
        self.day = read_day(args.get("day"), self.days)

    @property
    def everyone(self):
        return self.owner == OWNER_EVERYONE

    def owner_id(self):
        """Whose leads to count: None for everyone."""
        if self.everyone:
            return None
        return self.user.id if self.owner == OWNER_MINE else int(self.owner)

    def params(self, **changes):
        params = {
            "owner": self.owner if self.owner != OWNER_MINE else None,
            "days": self.period if self.period != DEFAULT_PERIOD else None,
            "day": self.day.isoformat() if self.day else None,
        } | changes
        return {name: value for name, value in params.items() if value not in (None, "")}

    def url(self, **changes):
        return url_for("agenda.missed", **self.params(**changes))


def read_day(text, days):
    """The day picked on the chart, if it is one of the period's."""
    text = (text or "").strip()
    if len(text) != 10 or not text.isascii():
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if days[0] <= day <= days[-1] else None


def person_shown(view, people):
    """The account whose steps are shown; None for everyone."""
    if view.everyone:
        return None
    if view.owner == OWNER_MINE:
        return view.user
    found = next((person for person in people if person.id == int(view.owner)), None)
    if found is None:
        raise NoSuchPerson
    return found


# What the page shows


@dataclass(frozen=True)
class DayBar:
    day: date
    count: int
    # The bar's height in tenths of the busiest day; a day with any missed shows at least one.
    level: int
    # Under the bar: the day of the month, and the month's name where the chart enters one.
    label: str
    month: str
    full_date: str
    # What the bar says aloud: the date and the number.
    said: str
    # The day's own list; None for a day with nothing missed.
    url: str | None


@dataclass(frozen=True)
class PersonTotal:
    # None: leads nobody owns.
    person: User | None
    count: int


def day_bars(view, per_day):
    """A bar for each day of the period, the oldest first."""
    busiest = max(per_day, default=0)
    locale = str(user_locale())
    # One address built, the day appended: url_for for each of ninety bars costs more.
    unpicked = view.url(day=None)
    joiner = "&" if "?" in unpicked else "?"
    bars = []
    for position, (day, count) in enumerate(zip(view.days, per_day, strict=True)):
        level = -(-count * BAR_STEPS // busiest) if busiest else 0
        month = ""
        if position == 0 or day.day == 1:
            month = dates.format_date(day, "LLL", locale=locale)
        full_date = medium_date(day, locale)
        said = ngettext(
            "%(date)s: %(num)d missed",
            "%(date)s: %(num)d missed",
            count,
            date=full_date,
        )
        url = f"{unpicked}{joiner}day={day.isoformat()}" if count else None
        bars.append(DayBar(day, count, level, str(day.day), month, full_date, said, url))
    return bars


def tally_days(counts, days):
    """The missed steps of each day of the period, and of all days before it."""
    per_day = [0] * days
    earlier = 0
    for (index, _owner_id), count in counts.items():
        if index == EARLIER:
            earlier += count
        else:
            per_day[index] += count
    return per_day, earlier


def person_totals(counts, people):
    """Each owner's missed steps in the period, the most first."""
    by_owner = {}
    for (index, owner_id), count in counts.items():
        if index != EARLIER:
            by_owner[owner_id] = by_owner.get(owner_id, 0) + count
    names = {person.id: person for person in people}
    totals = [PersonTotal(names.get(owner_id), count) for owner_id, count in by_owner.items()]
    return sorted(totals, key=lambda t: (-t.count, t.person is None, t.person and t.person.name))


def owner_choices(people, shown):
    """Everyone active, and the person shown even when their account is closed."""
    return [person for person in people if person.active or person == shown]


@bp.route("/missed")
@login_required
def missed():
    """What slipped: next steps that passed with nothing logged since, by day and by person."""
    try:
        view = MissedView(request.args, current_user, local_today())
    except NotYours:
        return render_error(403, _("You can see only your own missed contacts."))
    people = everyone_by_name() if may_see_others(current_user) else [current_user]
    try:
        shown = person_shown(view, people)
    except NoSuchPerson:
        return render_error(404, _("There is no such person."))

    now = utcnow()
    day_starts = [day_bounds(day)[0] for day in view.days]
    counts = missed_counts(day_starts, now, view.owner_id())
    per_day, earlier = tally_days(counts, len(view.days))

    if view.day:
        start, end = day_bounds(view.day)
        listed_total = per_day[view.days.index(view.day)]
    else:
        start, end = day_starts[0], now
        listed_total = sum(per_day)
    leads = missed_leads(start, end, now, view.owner_id())
    return htmx.render(
        "agenda/missed.html",
        "agenda/_missed.html",
        title=_("Missed contacts"),
        active="agenda",
        view=view,
        shown=shown,
        can_choose_owner=may_see_others(current_user),
        people=owner_choices(people, shown),
        periods=PERIODS,
        bars=day_bars(view, per_day),
        lead_path=url_for("leads.show", number=0).removesuffix("0"),
        total=sum(per_day),
        earlier=earlier,
        person_totals=person_totals(counts, people) if view.everyone else [],
        leads=leads,
        listed_total=listed_total,
        hints=last_contacts(leads),
        zone=str(user_zone()),
    )
