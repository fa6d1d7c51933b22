"""Time in SQL, alike on SQLite and PostgreSQL: which local day, week or month a stored moment
falls in, and how many days lie between two moments.

Stored moments are naive UTC. A local day, week or month is found by comparing with the UTC
moments its local bounds fall on, worked out in Python for the user's zone, so it is right
across a change of summer time and needs no time zone support from the database.
"""

from datetime import date, timedelta

from sqlalchemy import Float, case, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from crm.timezones import day_bounds


def index_of(moment, starts, low=0, high=None):
    """Which of the periods beginning at `starts` (UTC, ascending) `moment` falls in, known to
    be one of them: halving the range at each step, so a row needs seven comparisons for
    ninety periods rather than up to ninety."""
    if high is None:
        high = len(starts) - 1
    if low == high:
        return literal_column(str(int(low)))
    middle = (low + high + 1) // 2
    return case(
        (moment < starts[middle], index_of(moment, starts, low, middle - 1)),
        else_=index_of(moment, starts, middle, high),
    )


def local_starts(days):
    """The UTC moments the given local days begin, in the user's zone."""
    return [day_bounds(day)[0] for day in days]


def weeks_from(first_day, last_day):
    """The Mondays of the weeks that hold `first_day` to `last_day`."""
    monday = first_day - timedelta(days=first_day.weekday())
    weeks = []
    while monday <= last_day:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def months_from(first_day, last_day):
    """The first days of the months that hold `first_day` to `last_day`."""
    month = first_day.replace(day=1)
    months = []
    while month <= last_day:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


class days_between(FunctionElement):
    """Days (with the fraction) from `earlier` to `later`, both stored naive UTC moments."""

    type = Float()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return (
        f"(julianday({compiler.process(later, **kw)})"
        f" - julianday({compiler.process(earlier, **kw)}))"
    )


@compiles(days_between, "postgresql")
def _days_between_postgresql(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return (
        f"(EXTRACT(EPOCH FROM ({compiler.process(later, **kw)}"
        f" - {compiler.process(earlier, **kw)})) / 86400.0)"
    )
