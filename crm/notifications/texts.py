"""What a notification says: its title, a line or two, and where it leads, in the reader's
language (the caller's locale, `force_locale` for an email) and time zone (given).

The same words serve the list under the bell, the email's subject, a push and the browser's own
notification in an open tab, so they are made in one place.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _

from crm.formatting import medium_date, short_time
from crm.models import NotificationKind

# When no CRM_BASE_URL is set and there is no request to learn it from (a pass of the loop):
# where `make run` serves.
FALLBACK_BASE_URL = "http://127.0.0.1:5000"


@dataclass(frozen=True)
class Texts:
    title: str
    body: str
    # The address the notification leads to, within the app ("/leads/12").
    path: str


def locale_name():
    return str(get_locale())


def local(moment, zone):
    """A stored (naive UTC) moment as the naive local time in `zone`."""
    return moment.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


def parse_moment(text):
    return datetime.fromisoformat(text) if text else None


def time_text(moment, zone):
    found = local(moment, zone)
    return short_time(found.hour, found.minute, locale_name())


def step_time(moment, zone):
    """A step's time of day; "" for a step planned for the whole day (local midnight)."""
    found = local(moment, zone)
    if found.hour == found.minute == 0:
        return ""
    return short_time(found.hour, found.minute, locale_name())


def moment_text(moment, zone):
    """A date, and the time unless it is the whole day (local midnight)."""
    found = local(moment, zone)
    day = medium_date(found.date(), locale_name())
    if found.hour == found.minute == 0:
        return day
    return f"{day} {short_time(found.hour, found.minute, locale_name())}"


def day_text(iso_day):
    return medium_date(date.fromisoformat(iso_day), locale_name())


def lead_label(params):
    return f"#{params.get('number')} {params.get('title', '')}".strip()


def lead_path(params):
    return path_for("leads.show", number=params.get("number") or 0)


def describe(notification, zone):
    """The texts of a notification for a reader in `zone` (and the current locale)."""
    params = notification.params or {}
    kind = notification.kind
    if kind == NotificationKind.REMINDER:
        due = parse_moment(params.get("due_at"))
        title = _(
            "At %(time)s: %(lead)s",
            time=time_text(due, zone) if due else "",
            lead=lead_label(params),
        )
        return Texts(title, params.get("note") or _("Next step"), lead_path(params))
    if kind == NotificationKind.GIVEN:
        by = params.get("by") or _("the system")
        count = params.get("count")
        if count:
            title = ngettext(
                "%(num)d lead was given to you by %(by)s",
                "%(num)d leads were given to you by %(by)s",
                count,
                by=by,
            )
            return Texts(title, "", path_for("leads.index"))
        title = _("%(lead)s was given to you by %(by)s", lead=lead_label(params), by=by)
        return Texts(title, params.get("next_step") or "", lead_path(params))
    if kind == NotificationKind.REQUEST:
        title = _("New request: %(lead)s", lead=lead_label(params))
        body = _("From the form “%(form)s”.", form=params.get("form") or "—")
        return Texts(title, body, lead_path(params))
    if kind == NotificationKind.MISSED_CALL:
        title = _("Missed call: %(lead)s", lead=lead_label(params))
        at = parse_moment(params.get("at"))
        body = _(
            "%(number)s called at %(time)s. A call back is planned.",
            number=params.get("from") or "—",
            time=time_text(at, zone) if at else "",
        )
        return Texts(title, body, lead_path(params))
    if kind == NotificationKind.DIGEST:
        return Texts(digest_title(params), digest_line(params), path_for("agenda.index"))
    if kind == NotificationKind.WEEKLY:
        title = _("Weekly summary: the week of %(day)s", day=day_text(params.get("week_starts")))
        return Texts(title, weekly_line(params), path_for("analytics.index"))
    return Texts(kind, "", path_for("notifications.index"))


def section_count(params, key):
    return (params.get("sections") or {}).get(key, {}).get("count", 0)


def digest_title(params):
    return _("Your day, %(day)s", day=day_text(params.get("day")))


def digest_line(params):
    """ "2 overdue, 3 today, 4 without a next step, 1 gone quiet": the sections not empty."""
    parts = []
    for key, words in (
        ("overdue", lambda n: ngettext("%(num)d overdue", "%(num)d overdue", n)),
        ("today", lambda n: ngettext("%(num)d today", "%(num)d today", n)),
        (
            "unplanned",
            lambda n: ngettext("%(num)d without a next step", "%(num)d without a next step", n),
        ),
        ("quiet", lambda n: ngettext("%(num)d gone quiet", "%(num)d gone quiet", n)),
    ):
        count = section_count(params, key)
        if count:
            parts.append(words(count))
    return ", ".join(parts)


def weekly_line(params):
    missed = sum(person.get("missed", 0) for person in params.get("people", []))
    stuck = sum(person.get("stuck", 0) for person in params.get("people", []))
    return ", ".join(
        [
            ngettext("%(num)d missed contact", "%(num)d missed contacts", missed),
            ngettext("%(num)d stuck lead", "%(num)d stuck leads", stuck),
        ]
    )


# Links in messages


def path_for(endpoint, **values):
    """An address within the app, in a request (url_for) or outside one, as a pass of the
    loop sends mail: built from the URL map alone, which needs no server name."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def base_url():
    """The app's address as people open it: CRM_BASE_URL, else the request's, else where
    `make run` serves."""
    configured = current_app.config.get("BASE_URL")
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return FALLBACK_BASE_URL


def absolute(path):
    """An address within the app (as url_for gives it, with the script's prefix) made whole.
    A base URL with a path of its own (https://example.com/crm) puts the app under it."""
    base = urlsplit(base_url())
    return f"{base.scheme}://{base.netloc}{base.path.rstrip('/')}{path}"
