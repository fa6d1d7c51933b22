"""What a report covers, as its URL says: the period, whose leads, and from which source.

The period is a span of the user's local days; the reports compare stored (UTC) moments with
the moments those days begin and end in the user's zone.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, select, true

from crm import access
from crm.args import id_arg, text_arg
from crm.models import Lead, utcnow
from crm.timezones import day_bounds, local_today, user_zone

# Presets, each a span of days that ends today, or a calendar span.
PERIODS = {
    "30": _l("Last 30 days"),
    "90": _l("Last 90 days"),
    "365": _l("Last 12 months"),
    "month": _l("This month"),
    "last-month": _l("Last month"),
    "year": _l("This year"),
    "custom": _l("Dates…"),
}
DEFAULT_PERIOD = "90"
# A custom period may go back this far, so a typo cannot ask for ten thousand years.
LONGEST = timedelta(days=366 * 10)
# Bounding a day in the user's zone, or finding its week or month, needs the days around it,
# which the calendar's first and last days do not have: a custom period lies between these.
EARLIEST = date(1900, 1, 1)
LATEST = date(9998, 12, 31)
OWNER_MINE = "me"


def parse_day(text):
    try:
        return date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None


def valid_span(first, last):
    return (
        first is not None
        and last is not None
        and EARLIEST <= first <= last <= LATEST
        and last - first <= LONGEST
    )


def preset_days(period, today):
    """The first and last local day of a preset period."""
    if period.isdecimal():
        return today - timedelta(days=int(period) - 1), today
    if period == "month":
        return today.replace(day=1), today
    if period == "last-month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    return today.replace(month=1, day=1), today


@dataclass(frozen=True)
class ReportFilters:
    """The period as local days and as stored moments, whose leads and which source."""

    period: str
    first_day: date
    last_day: date
    owner: str = ""
    owner_id: int | None = None
    source: str = ""
    # Whether the viewer may look at everyone's leads, or only at their own.
    sees_team: bool = True

    @classmethod
    def from_args(cls, args, user):
        today = local_today()
        period = args.get("period", DEFAULT_PERIOD)
        if period not in PERIODS:
            period = DEFAULT_PERIOD
        first, last = parse_day(args.get("from")), parse_day(args.get("to"))
        if period != "custom" and (first, last) not in ((None, None), preset_days(period, today)):
            # The form sends the preset's own dates along: dates changed by hand mean them.
            period = "custom"
        if period == "custom" and not valid_span(first, last):
            period = DEFAULT_PERIOD
        if period != "custom":
            first, last = preset_days(period, today)
        sees_team = access.manages_the_team(user)
        owner = args.get("owner", "")
        if not sees_team:
            owner = OWNER_MINE
        elif owner != OWNER_MINE and not id_arg(owner):
            owner = ""
        owner_id = user.id if owner == OWNER_MINE else id_arg(owner)
        return cls(
            period=period,
            first_day=first,
            last_day=last,
            owner=owner,
            owner_id=owner_id,
            source=text_arg(args.get("source"), 80),
            sees_team=sees_team,
        )

    @property
    def start(self):
        """The stored moment the period begins."""
        return day_bounds(self.first_day)[0]

    @property
    def end(self):
        """The stored moment the period ends (excluded)."""
        return day_bounds(self.last_day)[1]

    @property
    def reaches_now(self):
        """Whether the period holds the present moment: it has begun and not yet ended."""
        return self.start <= utcnow() < self.end

    def lead_conditions(self, lead=Lead):
        """The leads a report counts: not archived, of the chosen owner and source."""
        found = [lead.archived == false()]
        if self.owner_id is not None:
            found.append(lead.owner_id == self.owner_id)
        if self.source:
            found.append(lead.source == self.source)
        return found

    def counts_lead(self, lead_id):
        """That the lead `lead_id` (a column of another table) is one the report counts: a
        lookup in a set of ids made once, cheaper per row than a join with the leads."""
        if self.owner_id is None and not self.source:
            return lead_id.not_in(select(Lead.id).where(Lead.archived == true()))
        return lead_id.in_(select(Lead.id).where(*self.lead_conditions()))

    def key(self):
        """What the numbers depend on, for the cache (besides the data version): the local
        days are bounded in the viewer's zone, and whether the period still holds now decides
        what counts up to now (it ends at a local midnight, which is not always on the hour)."""
        return (
            self.first_day,
            self.last_day,
            str(user_zone()),
            self.owner_id,
            self.source,
            self.reaches_now,
        )

    def params(self, **changes):
        """The URL parameters of these filters, with `changes`; defaults are left out."""
        params = {
            "period": self.period if self.period != DEFAULT_PERIOD else None,
            "from": self.first_day.isoformat() if self.period == "custom" else None,
            "to": self.last_day.isoformat() if self.period == "custom" else None,
            "owner": self.owner if self.sees_team else None,
            "source": self.source,
        } | changes
        return {name: value for name, value in params.items() if value not in (None, "")}

    def url(self, endpoint, **changes):
        return url_for(endpoint, **self.params(**changes))
