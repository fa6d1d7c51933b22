"""Template filters: money, dates and "how long ago", in the user's language and zone."""

from flask import g
from flask_babel import format_date, format_decimal, format_time, format_timedelta
from flask_babel import gettext as _

from crm.extensions import db
from crm.funnel import can_change_activity
from crm.models import AppSetting, utcnow
from crm.timezones import local_today, to_local


def init_app(app):
    app.add_template_filter(money)
    app.add_template_filter(when)
    app.add_template_filter(ago)
    app.add_template_filter(first_line)
    app.add_template_global(next_step_state)
    app.add_template_global(currency)
    app.add_template_global(can_change_activity)


def currency():
    """The app's currency sign, as set in Settings (empty when none): read once per request."""
    if "currency" not in g:
        setting = db.session.get(AppSetting, "currency")
        g.currency = setting.value if setting else ""
    return g.currency


def money(value):
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.##" if value == int(value) else "#,##0.00")


def when(moment):
    """A stored datetime as the user reads it: the date, and the time unless it is midnight."""
    local = to_local(moment)
    if local is None:
        return ""
    # Babel converts the stored UTC value to the user's zone itself: pass it as stored.
    if local.hour == local.minute == 0:
        return format_date(moment, "medium")
    return f"{format_date(moment, 'medium')} {format_time(moment, 'short')}"


def ago(moment):
    """ "3 days ago": how long since a stored datetime."""
    if moment is None:
        return ""
    return _("%(time)s ago", time=format_timedelta(utcnow() - moment, threshold=1.1))


def first_line(text, limit=80):
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def next_step_state(moment):
    """overdue, today, later or none: the colour cue of a next step (by the user's calendar)."""
    if moment is None:
        return "none"
    day = to_local(moment).date()
    today = local_today()
    if day < today:
        return "overdue"
    return "today" if day == today else "later"
