"""The calendar of planned next steps, and its feed for phone calendars.

A month (or a week) shows each day's count of planned next steps and the first few of them; a
day's whole list comes on demand (the reads are in `crm.agenda.queries`). A next step is moved
to another day by a drop or a date field.

The feed (.ics) lists one user's planned calls for a phone calendar to subscribe to. The token in
its address is the only secret: making a new one retires the old address at once.
"""

import re
import secrets
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from babel import dates as babel_dates
from flask import abort, current_app, flash, make_response, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from crm import access, funnel, htmx, lists
from crm.access import lead_by_id_or_404
from crm.agenda import bp, ical, queries
from crm.args import day_arg, read_day
from crm.extensions import db
from crm.formatting import medium_date, short_time
from crm.i18n import user_locale
from crm.models import User
from crm.timezones import local_today, to_local, to_utc, zone_of

VIEWS = ("month", "week")
OWNER_MINE, OWNER_EVERYONE = "me", "everyone"
# How many of a day's leads its cell shows; the rest are one click away, in the day's list.
SHOWN_PER_DAY = {"month": 3, "week": 12}


class CalendarView:
    """The calendar as the URL describes it: month or week, around which day, whose leads.

    Salespeople always see their own leads: for them the owner in the URL counts for nothing.
    """

    def __init__(self, args, user):
        self.user = user
        kind = args.get("view")
        self.kind = kind if kind in VIEWS else "month"
        self.anchor = day_arg(args.get("date")) or local_today()
        self.today = local_today()
        self.team = lists.team() if access.manages_the_team(user) else []
        self.owner = self.read_owner(args.get("owner", ""))
        self.first_weekday = user_locale().first_week_day
        # Every pipeline this person works in, unless one is chosen.
        self.pipelines = [p for p in lists.pipelines() if access.may_use_pipeline(user, p.id)]
        self.pipeline_id = lists.chosen_pipeline_id(args, self.pipelines)

    @property
    def pipeline_ids(self):
        """The pipelines whose leads the calendar shows: None for every one."""
        if self.pipeline_id is not None:
            return (self.pipeline_id,)
        return access.pipelines_of(self.user)

    def read_owner(self, owner):
        if not self.team:
            return OWNER_MINE
        if owner == OWNER_EVERYONE:
            return owner
        colleagues = {str(person.id) for person in self.team if person.id != self.user.id}
        return owner if owner in colleagues else OWNER_MINE

    @property
    def owner_id(self):
        """Whose leads: an account's id, or None for everyone's."""
        if self.owner == OWNER_MINE:
            return self.user.id
        if self.owner == OWNER_EVERYONE:
            return None
        return int(self.owner)

    @property
    def shows_owners(self):
        return self.owner == OWNER_EVERYONE

    @property
    def shown_per_day(self):
        return SHOWN_PER_DAY[self.kind]

    def week_start(self, day):
        return day - timedelta(days=(day.weekday() - self.first_weekday) % 7)

    @property
    def first_day(self):
        """The first day of the month or week shown (a month's grid starts a little before)."""
        if self.kind == "week":
            return self.week_start(self.anchor)
        return self.anchor.replace(day=1)

    @property
    def last_day(self):
        if self.kind == "week":
            return self.first_day + timedelta(days=6)
        return next_month(self.anchor) - timedelta(days=1)

    @property
    def days(self):
        """Every day in the grid: whole weeks."""
        start = self.week_start(self.first_day)
        end = self.week_start(self.last_day) + timedelta(days=6)
        return [start + timedelta(days=n) for n in range((end - start).days + 1)]

    @property
    def previous(self):
        if self.kind == "week":
            return self.anchor - timedelta(days=7)
        return (self.first_day - timedelta(days=1)).replace(day=1)

    @property
    def next(self):
        if self.kind == "week":
            return self.anchor + timedelta(days=7)
        return next_month(self.anchor)

    def in_period(self, day):
        return self.first_day <= day <= self.last_day

    @property
    def heading(self):
        locale = user_locale()
        if self.kind == "week":
            return babel_dates.format_interval(
                self.first_day, self.last_day, "yMMMd", locale=locale
            )
        return babel_dates.format_date(self.first_day, "LLLL y", locale=locale).capitalize()

    @property
    def weekdays(self):
        """The names of the days in the grid's order, abbreviated and in full."""
        names = user_locale().days["stand-alone"]
        order = [(self.first_weekday + n) % 7 for n in range(7)]
        return [(names["abbreviated"][n], names["wide"][n]) for n in order]

    def params(self, **changes):
        params = {
            "view": self.kind,
            "date": self.anchor.isoformat(),
            "owner": self.owner,
            "pipeline": self.pipeline_id,
        } | changes
        if params["view"] == "month":
            params["view"] = None
        if params["owner"] == OWNER_MINE:
            params["owner"] = None
        if params["date"] == self.today.isoformat():
            params["date"] = None
        return {name: value for name, value in params.items() if value is not None}

    def url(self, **changes):
        return url_for("agenda.calendar", **self.params(**changes))

    def day_url(self, day=None):
        """The address of a day's list; without a day, its start, for a cell to add its date to
        (url_for per cell costs more than the cell)."""
        url = url_for("agenda.calendar_day", **self.params(view=None, date=None))
        return url + ("&" if "?" in url else "?") + "date=" + (day.isoformat() if day else "")


def next_month(day):
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def planned_day(lead):
    """The day a lead's next step falls on for the user, if the calendar shows it at all."""
    if lead.next_step_at is None or lead.archived or not lead.stage.is_open:
        return None
    return to_local(lead.next_step_at).date()


# Pages


def labels():
    """What every item says alike, translated once per page rather than once per item."""
    return {"reschedule": _("Reschedule")}


def paths(view):
    """The start of each item's and cell's links (url_for per item costs more than the item)."""
    return {
        "lead": url_for("leads.show", number=0).removesuffix("0"),
        "reschedule": url_for("agenda.calendar_reschedule", lead_id=0).removesuffix("0/reschedule"),
        "day": view.day_url(),
    }


def grid_context(view, days, moved_lead=None):
    return {
        "view": view,
        "days": days,
        "labels": labels(),
        "paths": paths(view),
        "locale": str(user_locale()),
        "time_of": time_of,
        "day_name": day_name,
        "full_date": full_date,
        # The lead just moved, whose item in its new day takes the focus.
        "moved_lead": moved_lead,
    }


def time_of(lead, locale):
    """The local time of a next step, or "" for one planned for the whole day (local midnight)."""
    local = to_local(lead.next_step_at)
    if local.hour == local.minute == 0:
        return ""
    return short_time(local.hour, local.minute, locale)


def day_name(day, locale):
    return medium_date(day, locale)


def full_date(day, locale):
    return babel_dates.format_date(day, "full", locale=locale)


@bp.route("/calendar")
@login_required
def calendar():
    """The month (or week) of planned next steps, with counts per day; drag one to move it."""
    view = CalendarView(request.args, current_user)
    days = queries.fill_days(view.days, view.owner_id, view.shown_per_day, view.pipeline_ids)
    return render_template(
        "agenda/calendar.html",
        title=_("Calendar"),
        active="agenda",
        feed_url=feed_url(current_user),
        **grid_context(view, days),
    )


@bp.route("/calendar/day")
@login_required
def calendar_day():
    """One day's planned leads, each with a date field to move it: a partial, or a page."""
    view = CalendarView(request.args, current_user)
    day = day_arg(request.args.get("date"))
    if day is None:
        abort(404)
    leads = queries.day_leads(day, view.owner_id, view.pipeline_ids)
    return htmx.render(
        "agenda/calendar_day.html",
        "agenda/_calendar_day.html",
        title=_("Calendar"),
        active="agenda",
        **grid_context(view, []),
        **day_context(day, leads, focus_lead=request.args.get("focus", type=int)),
    )


def day_context(day, leads, focus_lead=None, focus_heading=None):
    """The day's list; the focus goes to one lead's date field, or else to the heading."""
    return {
        "day": day,
        "leads": leads[: queries.DAY_LIST_MAX],
        "more_than": queries.DAY_LIST_MAX if len(leads) > queries.DAY_LIST_MAX else None,
        "focus_lead": focus_lead,
        "focus_heading": not focus_lead if focus_heading is None else focus_heading,
    }


# Moving a next step to another day


def new_next_step(lead, day):
    """The next step moved to `day` at the same local time; one at local midnight (planned for
    the day, not an hour) stays at midnight."""
    at = to_local(lead.next_step_at).time() if lead.next_step_at else time.min
    return to_utc(datetime.combine(day, at))


DAY_ERRORS = {
    "empty": lambda: _("Choose a day for the next step."),
    "malformed": lambda: _("Enter a date as year-month-day, for example 2026-03-07."),
    "out of range": lambda: _("Enter a date between 1900 and 2999."),
}


@bp.route("/calendar/leads/<int:lead_id>/reschedule", methods=["POST"])
@login_required
def calendar_reschedule(lead_id):
    """Move a lead's next step to another day at the same time of day: a drop, or the form.

    The answer redraws the days the page shows that changed (or, after a refusal, the days the
    drop touched, so the item goes back) and says what happened in the page's messages.
    """
    lead = lead_by_id_or_404(lead_id)
    target = read_day(request.form.get("date"))
    touched = {planned_day(lead), day_arg(request.form.get("from"))}
    if isinstance(target, date):
        touched.add(target)
    if not access.may_change(lead, current_user):
        return answer(lead, touched, access.not_allowed_message(), 403)
    if lead.archived:
        message = _("Lead #%(number)d was archived meanwhile.", number=lead.number)
        return answer(lead, touched, message, 409)
    if not isinstance(target, date):
        return answer(lead, touched, DAY_ERRORS[target](), 422)
    try:
        funnel.reschedule(lead, current_user, new_next_step(lead, target))
    except funnel.FunnelError as error:
        db.session.rollback()
        return answer(lead, touched, error.message, 422)
    db.session.commit()
    message = _(
        "Lead #%(number)d: next step moved to %(date)s.",
        number=lead.number,
        date=medium_date(target, str(user_locale())),
    )
    return answer(lead, touched, message, moved_to=target)


def answer(lead, touched, message, status=200, moved_to=None):
    """The message, and the cells and the day's list the page shows that the move touched."""
    ok = status == 200
    view = page_view()
    if not htmx.is_htmx():
        return plain_answer(view, lead, message, status)
    # After a refusal the day's list is as it was: only the cells, to put the item back.
    cells, listed = redrawn(view, touched)
    listed = listed if ok else None
    moved_shown = ok and any(cell.date == moved_to for cell in cells)
    context = grid_context(view, cells, moved_lead=lead.id if moved_shown else None)
    if listed:
        leads = queries.day_leads(listed, view.owner_id, view.pipeline_ids)
        context |= day_context(listed, leads, focus_heading=not moved_shown)
    page = render_template(
        "agenda/_calendar_moved.html",
        message=message,
        ok=ok,
        cells=cells,
        listed=listed,
        **context,
    )
    return htmx.fragment(page, status)


def plain_answer(view, lead, message, status):
    """Without JavaScript: back to the day's list after a move; a refusal shows it with why."""
    flash(message, "success" if status == 200 else "error")
    day = day_arg(request.form.get("listed"))
    if status == 200:
        if day is None:
            return htmx.redirect_to(view.url())
        return htmx.redirect_to(view.day_url(day))
    day = day or planned_day(lead) or view.today
    page = render_template(
        "agenda/calendar_day.html",
        title=_("Calendar"),
        active="agenda",
        standalone=True,
        **grid_context(view, []),
        **day_context(day, queries.day_leads(day, view.owner_id, view.pipeline_ids)),
    )
    return make_response(page, status)


def page_view():
    """The calendar the page that posted shows, as its form says (view, anchor and owner)."""
    form = request.form
    args = {
        "view": form.get("view"),
        "date": form.get("anchor"),
        "owner": form.get("owner"),
        "pipeline": form.get("pipeline"),
    }
    return CalendarView(args, current_user)


def redrawn(view, touched):
    """The touched days the page shows, filled afresh, and the day of its list when that is one
    of them. A post that does not say what the page shows gets no cells."""
    if request.form.get("view") not in VIEWS:
        return [], None
    shown = set(view.days)
    days = sorted(day for day in touched if day in shown)
    cells = (
        queries.fill_days(days, view.owner_id, view.shown_per_day, view.pipeline_ids)
        if days
        else []
    )
    listed = day_arg(request.form.get("listed"))
    return cells, listed if listed in touched else None


# The feed for phone calendars

TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{20,64}")


def feed_url(user):
    if not user.calendar_token:
        return None
    return url_for("agenda.calendar_feed", token=user.calendar_token, _external=True)


@bp.route("/calendar/feed", methods=["POST"])
@login_required
def calendar_new_feed():
    """Make a new secret address for the user's feed; the previous one stops working at once."""
    replaced = current_user.calendar_token is not None
    current_user.calendar_token = secrets.token_urlsafe(32)
    db.session.commit()
    if replaced:
        message = _("Here is a new address: the previous one no longer works.")
    else:
        message = _("Your calendar now has an address to subscribe to.")
    if not htmx.is_htmx():
        flash(message, "success")
        return htmx.redirect_to(url_for("agenda.calendar") + "#calendar-feed")
    return htmx.fragment(
        render_template(
            "agenda/_calendar_feed.html", feed_url=feed_url(current_user), message=message
        )
    )


@bp.route("/calendar/<token>.ics")
def calendar_feed(token):
    """The user's planned next steps as iCalendar, for a phone to subscribe to; no login: the
    token in the address is the secret."""
    user = None
    if TOKEN_FORMAT.fullmatch(token):
        user = db.session.scalar(select(User).where(User.calendar_token == token))
    if user is None or not user.active or not secrets.compare_digest(user.calendar_token, token):
        abort(404)
    body = feed_calendar(user, queries.feed_steps(user), request.host)
    response = make_response(body.encode())
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def feed_calendar(user, steps, host):
    """The user's planned calls as iCalendar text, named in their language, days in their zone."""
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        name = _("Planned calls")
    lead_path = url_for("leads.show", number=0, _external=True).removesuffix("0")
    zone = zone_of(user)
    return ical.calendar(name, [feed_event(step, zone, host, lead_path) for step in steps])


def feed_event(step, zone, host, lead_path):
    local = step.next_step_at.replace(tzinfo=UTC).astimezone(zone)
    summary = f"#{step.number} {step.title}"
    if step.next_step_note:
        summary += f": {step.next_step_note}"
    event = ical.Event(
        uid=f"lead-{step.id}@{host}",
        stamp=step.updated_at,
        summary=summary,
        url=f"{lead_path}{step.number}",
    )
    if local.hour == local.minute == local.second == 0:
        # Planned for the day, not for an hour: an all-day event on the user's date.
        return replace(event, day=local.date())
    return replace(event, starts=step.next_step_at)
