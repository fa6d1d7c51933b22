"""Missed contacts: planned next steps that passed with nothing logged on the lead since.

Every next step ever planned is kept in PlannedStep, with when it stopped being the lead's next
step (moved, replaced, cleared) and the contact that answered it, which the funnel service finds
as contacts are logged, corrected and deleted. A step is missed when its time came while it was
still the plan and no contact answered it: none made from its time until it was moved or
cleared (or until now, while it stands), and it was not replaced by logging one. Moving a step
that was due to another day does not hide it; moving it before it is due does, as it never came
due. It counts on the day (in the viewer's zone) it was due, for whoever owned the lead then.
Steps of archived leads are left out; those of leads since won or lost stay, as they were missed
before the lead was closed.
The reads are in `crm.agenda.queries`.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from babel import dates
from flask import request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from crm import access, htmx, lists
from crm.agenda import bp, queries
from crm.args import id_arg
from crm.errors import render_error
from crm.formatting import medium_date
from crm.i18n import user_locale
from crm.leads.queries import last_contacts
from crm.models import User, utcnow
from crm.timezones import day_bounds, local_today, user_zone, zone_label

# How many days back the page looks.
PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
OWNER_MINE, OWNER_EVERYONE = "me", "everyone"
# A bar's height in steps of a tenth of the busiest day (classes missed-bar-0 to missed-bar-10).
BAR_STEPS = 10


# What the URL asks for


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
        if owner != OWNER_MINE and not access.manages_the_team(user):
            raise NotYours
        self.owner = owner
        self.days = [today - timedelta(days=back) for back in range(self.period - 1, -1, -1)]
        self.day = read_day(args.get("day"), self.days)
        # Every pipeline's leads, unless one is chosen.
        self.pipelines = [p for p in lists.pipelines() if access.may_use_pipeline(user, p.id)]
        self.pipeline_id = lists.chosen_pipeline_id(args, self.pipelines)
        # The pipelines whose steps count: the one chosen, else those this person works in.
        self.pipeline_ids = (
            (self.pipeline_id,) if self.pipeline_id is not None else access.pipelines_of(user)
        )

    @property
    def everyone(self):
        return self.owner == OWNER_EVERYONE

    def owner_id(self):
        """Whose steps to count: None for everyone."""
        if self.everyone:
            return None
        return self.user.id if self.owner == OWNER_MINE else int(self.owner)

    def params(self, **changes):
        params = {
            "owner": self.owner if self.owner != OWNER_MINE else None,
            "days": self.period if self.period != DEFAULT_PERIOD else None,
            "day": self.day.isoformat() if self.day else None,
            "pipeline": self.pipeline_id,
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
    """The missed steps of each day of the period."""
    per_day = [0] * days
    for (index, _owner_id), count in counts.items():
        per_day[index] += count
    return per_day


def person_totals(counts, people):
    """Each owner's missed steps in the period, the most first."""
    by_owner = {}
    for (_index, owner_id), count in counts.items():
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
    people = queries.everyone_by_name() if access.manages_the_team(current_user) else [current_user]
    try:
        shown = person_shown(view, people)
    except NoSuchPerson:
        return render_error(404, _("There is no such person."))

    now = utcnow()
    day_starts = [day_bounds(day)[0] for day in view.days]
    counts = queries.missed_counts(day_starts, now, view.owner_id(), view.pipeline_ids)
    per_day = tally_days(counts, len(view.days))
    earlier = queries.still_waiting_before(day_starts[0], now, view.owner_id(), view.pipeline_ids)

    if view.day:
        start, end = day_bounds(view.day)
        listed_total = per_day[view.days.index(view.day)]
    else:
        start, end = day_starts[0], now
        listed_total = sum(per_day)
    steps = queries.missed_steps(start, end, now, view.owner_id(), view.pipeline_ids)
    leads = [step.lead for step in steps]
    return htmx.render(
        "agenda/missed.html",
        "agenda/_missed.html",
        title=_("Missed contacts"),
        active="agenda",
        view=view,
        shown=shown,
        can_choose_owner=access.manages_the_team(current_user),
        people=owner_choices(people, shown),
        periods=PERIODS,
        bars=day_bars(view, per_day),
        lead_path=url_for("leads.show", number=0).removesuffix("0"),
        total=sum(per_day),
        earlier=earlier,
        person_totals=person_totals(counts, people) if view.everyone else [],
        steps=steps,
        owners={person.id: person for person in people},
        listed_total=listed_total,
        hints=last_contacts(leads),
        zone=zone_label(str(user_zone()), user_locale()),
    )
