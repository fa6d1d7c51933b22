"""Dates as the user sees them: stored in naive UTC, shown and entered in the user's zone."""

from datetime import UTC, datetime, time, timedelta

from babel import dates as babel_dates
from flask import current_app, g, has_request_context
from flask_babel import get_timezone

from crm.models import utcnow


def user_zone():
    """The user's zone, looked up once per request (Flask-Babel looks it up on every call)."""
    if not has_request_context():
        return get_timezone()
    if "user_zone" not in g:
        g.user_zone = get_timezone()
    return g.user_zone


def zone_of(user):
    """A user's zone outside their own requests (a feed read by their phone, an email)."""
    # Babel answers None with the server's own zone: skip it, as the pages do.
    for name in filter(None, (user.timezone, current_app.config["BABEL_DEFAULT_TIMEZONE"])):
        try:
            return babel_dates.get_timezone(name)
        except LookupError:
            continue
    return UTC


def to_local(moment):
    """A stored (naive UTC) datetime in the user's zone, still naive."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(user_zone()).replace(tzinfo=None)


def to_utc(local_moment):
    """A naive datetime entered in the user's zone, as stored (naive UTC)."""
    if local_moment is None:
        return None
    zone = user_zone()
    # pytz zones must localize(): replace(tzinfo=...) would use the zone's local mean time.
    aware = (
        zone.localize(local_moment)
        if hasattr(zone, "localize")
        else local_moment.replace(tzinfo=zone)
    )
    return aware.astimezone(UTC).replace(tzinfo=None)


def local_now():
    return to_local(utcnow())


def local_today():
    """The user's date; worked out once per request, as a list asks for it on every row."""
    if not has_request_context():
        return local_now().date()
    if "local_today" not in g:
        g.local_today = local_now().date()
    return g.local_today


def day_bounds(day):
    """The stored (UTC) start and end of a day in the user's zone."""
    start = to_utc(datetime.combine(day, time.min))
    return start, to_utc(datetime.combine(day + timedelta(days=1), time.min))


def combine(day, at=None):
    """A date and an optional time typed by the user, as stored; no time means the whole day."""
    if day is None:
        return None
    return to_utc(datetime.combine(day, at or time.min))
