"""Dates as the user sees them: stored in naive UTC, shown and entered in the user's zone.

A person's zone is their own (My account), else the team's (chosen at setup, changed in
Settings → General), else the configuration's BABEL_DEFAULT_TIMEZONE.
"""

from datetime import UTC, datetime, time, timedelta
from functools import lru_cache

import pytz
from babel import Locale
from babel import dates as babel_dates
from flask import current_app, g, has_request_context
from flask_babel import force_locale, get_timezone
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from crm import app_settings
from crm.models import utcnow

TEAM_ZONE_SETTING = "timezone"
# The regions of the zones offered (US/ and Canada/ are old aliases of America/ zones).
REGIONS = {
    "Europe": _l("Europe"),
    "Asia": _l("Asia"),
    "America": _l("America"),
    "Africa": _l("Africa"),
    "Australia": _l("Australia"),
    "Pacific": _l("Pacific Ocean"),
    "Atlantic": _l("Atlantic Ocean"),
    "Indian": _l("Indian Ocean"),
    "Antarctica": _l("Antarctica"),
    "Arctic": _l("Arctic"),
}
RUSSIAN_ZONES = frozenset(pytz.country_timezones["RU"])
OFFERED_ZONES = frozenset(
    name for name in pytz.common_timezones if name == "UTC" or name.split("/")[0] in REGIONS
)


def old_zone_names():
    """{old name: the name the list offers} from the zone database's links (Asia/Calcutta →
    Asia/Kolkata, Etc/UTC → UTC): browsers still report some zones by their old names."""
    links = {}
    with pytz.open_resource("tzdata.zi") as data:
        for line in data:
            if line.startswith(b"L "):
                _link, target, name = line.decode().split()
                links[name] = target
    # A zone the list offers under a name that is itself a link (UTC is one to Etc/UTC).
    offered_as = {}
    for name, target in sorted(links.items()):
        if name in OFFERED_ZONES and target not in OFFERED_ZONES:
            offered_as.setdefault(target, name)
    found = dict(offered_as)
    for name, target in links.items():
        offered = target if target in OFFERED_ZONES else offered_as.get(target)
        if offered and name not in OFFERED_ZONES:
            found[name] = offered
    return found


# Zone names are matched whatever their case ("europe/moscow"), and kept as the list offers
# them, else as the zone database spells them.
ZONE_NAMES = {name.lower(): name for name in pytz.all_timezones} | {
    name.lower(): target for name, target in old_zone_names().items()
}


def user_zone():
    """The user's zone, looked up once per request (Flask-Babel looks it up on every call)."""
    if not has_request_context():
        return get_timezone()
    try:
        return g.user_zone
    except AttributeError:
        g.user_zone = get_timezone()
        return g.user_zone


def zone_of(user):
    """A user's zone outside their own requests (a feed read by their phone, an email)."""
    try:
        return babel_dates.get_timezone(zone_name_of(user))
    except LookupError:
        return UTC


def zone_name_of(user):
    """The zone a user's days are counted in: their own, else the team's, else the default."""
    return known_zone(user.timezone) or team_zone_name()


def team_zone_name():
    """The team's zone, else the configured default (BABEL_DEFAULT_TIMEZONE), else UTC."""
    return team_zone() or known_zone(current_app.config["BABEL_DEFAULT_TIMEZONE"]) or "UTC"


# Names of zones


def known_zone(name):
    """The zone's name as the list offers it, else as the zone database spells it; None when
    there is no such zone."""
    return ZONE_NAMES.get((name or "").strip().lower())


def team_zone():
    """The team's zone (an IANA name), or None when none was chosen; read once per request."""
    return known_zone(app_settings.value(TEAM_ZONE_SETTING))


def set_team_zone(name):
    """Make `name` the team's zone: new accounts start in it, accounts without one follow it."""
    zone = known_zone(name)
    if zone is None:
        raise ValueError(f"unknown time zone {name!r}")
    app_settings.store(TEAM_ZONE_SETTING, zone)
    return zone


def offset_minutes(name, day):
    """How many minutes the zone is ahead of UTC at noon that day (behind: negative)."""
    noon = pytz.timezone(name).localize(datetime.combine(day, time(12)), is_dst=False)
    return int(noon.utcoffset().total_seconds() // 60)


def utc_offset(name, day):
    """The zone's offset from UTC that day, as "UTC+3", "UTC-3:30" or "UTC"."""
    minutes = offset_minutes(name, day)
    if not minutes:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


@lru_cache(maxsize=4)
def city_names(locale):
    """Each offered zone's city in the language `locale` ("Москва"): Babel takes a fifth of a
    second for them all, so once per language."""
    return {
        name: babel_dates.get_timezone_location(name, locale=locale, return_city=True)
        for name in sorted(OFFERED_ZONES)
    }


def zone_label(name, locale):
    """A zone as a person reads it, "Москва (UTC+3)"; a name the list lacks as it is."""
    zone = known_zone(name)
    if zone not in OFFERED_ZONES:
        return zone or name
    if zone == "UTC":
        return zone
    return f"{city_name(zone, str(locale))} ({utc_offset(zone, utcnow().date())})"


@lru_cache(maxsize=256)
def city_name(zone, locale):
    """One zone's city, for a page that names a zone or two rather than offering them all."""
    return babel_dates.get_timezone_location(zone, locale=locale, return_city=True)


def zone_choices(locale, keep=None):
    """The zones to pick from, labelled in `locale`: Russia's first, UTC, then by region.
    `keep`, a zone already chosen that the list lacks (an old alias), is offered too."""
    choices = list(offered_zones(str(locale), utcnow().date()))
    kept = known_zone(keep)
    if kept and kept not in OFFERED_ZONES:
        choices.insert(0, SelectChoice(kept, kept))
    return choices


@lru_cache(maxsize=4)
def offered_zones(locale, day):
    """The choices for one language on one day (offsets change with summer time)."""
    cities = city_names(locale)

    def choice(name, group):
        return SelectChoice(name, f"{cities[name]} ({utc_offset(name, day)})", optgroup=group)

    # Russia's zones west to east, as its people count them (Moscow +0, +1 ...).
    russia = Locale.parse(locale).territories.get("RU", "Russia")
    east = sorted(RUSSIAN_ZONES, key=lambda name: (offset_minutes(name, day), cities[name]))
    choices = [choice(name, russia) for name in east]
    choices.append(SelectChoice("UTC", "UTC"))
    with force_locale(locale):
        for region, region_name in REGIONS.items():
            group = str(region_name)
            names = [
                name
                for name in cities
                if name.split("/")[0] == region and name not in RUSSIAN_ZONES
            ]
            choices += [choice(name, group) for name in sorted(names, key=cities.get)]
    return tuple(choices)


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
    try:
        return g.local_today
    except AttributeError:
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
