"""The agenda, the start page: a salesperson's whole day without opening another page.

Each section lists leads that need something: a call that is overdue, due today or this week,
a lead with nothing planned, one stuck in its stage, one gone quiet. A row logs a call in place
(the lead page's log form and service) or moves the next step by a day, three, a week or to a
picked date; afterwards the sections are drawn again, so the row leaves its section and every
count is right.
"""

from datetime import datetime, timedelta

from flask import abort, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from crm import access, field_filters, funnel, htmx, lists, typed_dates
from crm.access import lead_by_id_or_404
from crm.agenda import bp, queries
from crm.agenda.rows import AgendaRows
from crm.args import id_arg, text_arg
from crm.errors import render_error
from crm.extensions import db
from crm.formatting import medium_date, next_step_labels
from crm.forms import MISREADINGS
from crm.i18n import user_locale
from crm.idempotency import idempotent
from crm.leads.queries import last_contacts
from crm.log_form import new_log_form, save_log
from crm.models import Lead, utcnow
from crm.telephony import calls as call_service
from crm.timezones import day_bounds, local_now, local_today, to_local, to_utc

SECTIONS = {
    "overdue": (_l("Overdue"), _l("Planned contacts whose day has passed.")),
    "today": (_l("Today"), _l("Planned for today.")),
    "week": (_l("Next 7 days"), _l("Planned for the coming week.")),
    "unplanned": (_l("No next step"), _l("Open leads with nothing planned.")),
    "stuck": (_l("Stuck"), _l("In their stage, or without contact, longer than the stage allows.")),
    "quiet": (_l("Gone quiet"), _l("No contact for %(days)d days or more.")),
}
EVERYONE = "everyone"
# The addresses that draw the sections, which the field filters narrow (not the calendar's).
SECTIONS_ENDPOINTS = frozenset(
    {"agenda.index", "agenda.section_more", "agenda.log", "agenda.reschedule"}
)
RESCHEDULE_DAYS = (1, 3, 7)


class AgendaView:
    """Whose agenda: one's own, or for managers a colleague's or everyone's (`owner`); and
    which of its leads, by the team's choice fields (`f.gorod=moskva`, as the list writes it).
    Both ride in every address the agenda's rows and forms use, so they survive each redraw."""

    def __init__(self, args, user):
        self.user = user
        owner = args.get("owner", "")
        if not access.manages_the_team(user):
            owner = ""
        self.owner = owner if owner == EVERYONE or id_arg(owner) else ""
        self.args = args
        self.field_filters = field_filters.read(args, field_filters.CHOICE_TYPES)
        # Every pipeline, unless one is chosen.
        self.pipelines = [p for p in lists.pipelines() if access.may_use_pipeline(user, p.id)]
        self.pipeline_id = lists.chosen_pipeline_id(args, self.pipelines)

    def conditions(self):
        # Only the pipelines this person works in (a salesperson may be limited to some).
        worked_in = access.Scope(pipeline_ids=access.pipelines_of(self.user))
        found = (*self.field_filters.conditions(), *access.scope_condition(worked_in))
        if self.pipeline_id is not None:
            found = (*found, lists.in_pipeline(Lead.id, self.pipeline_id))
        return found

    def field_controls(self):
        return field_filters.controls(self.field_filters, self.args, field_filters.CHOICE_TYPES)

    @property
    def owner_id(self):
        if self.owner == EVERYONE:
            return None
        return id_arg(self.owner) or self.user.id

    def url(self, endpoint="agenda.index", **values):
        params = {"owner": self.owner} if self.owner else {}
        if self.pipeline_id is not None:
            params["pipeline"] = self.pipeline_id
        if endpoint in SECTIONS_ENDPOINTS:
            params |= self.field_filters.params()
        return url_for(endpoint, **params, **values)


def today():
    """The user's day and week as stored moments."""
    day = local_today()
    starts, ends = day_bounds(day)
    return queries.Day(
        now=utcnow(),
        today_starts=starts,
        today_ends=ends,
        week_ends=day_bounds(day + timedelta(days=7))[1],
    )


def row_labels():
    """What every row says alike, translated once per page rather than once per row."""
    return {
        "log": _("Log contact"),
        "next_step_in": _("Next step in"),
        "days": [(days, ngettext("%(num)d day", "%(num)d days", days)) for days in RESCHEDULE_DAYS],
        "pick_day": _("Another day"),
        "next_step_on": _("Next step on"),
        "typed_example": _("fri 15:30"),
        "set_date": _("Set date"),
        "no_contact": _("No contact yet"),
        **next_step_labels(),
    }


def row_paths(view):
    """The start of each row's links and the form token (url_for per row costs more than the
    rest of the row)."""
    query = view.url().partition("?")[2]
    return {
        "lead": url_for("leads.show", number=0).removesuffix("0"),
        "agenda_lead": url_for("agenda.log", lead_id=0).removesuffix("0/log"),
        "query": f"?{query}" if query else "",
        "token": generate_csrf(),
    }


def rows_context(view, leads):
    """The rows' drawer, with the last contacts of `leads`."""
    hints = last_contacts(leads)
    with_owner = view.owner == "everyone"
    return {"agenda_row": AgendaRows(row_labels(), row_paths(view), hints, with_owner)}


def sections_context(view, message=None):
    quiet_days = lists.quiet_after_days()
    sections = queries.all_sections(view.owner_id, today(), quiet_days, view.conditions())
    leads = [lead for section in sections for lead in section.leads]
    return {
        "view": view,
        "calls": queries.call_queue(view.owner_id, access.lead_scope(view.user)),
        "sections": sections,
        "titles": SECTIONS,
        "quiet_days": quiet_days,
        "message": message,
        **rows_context(view, leads),
    }


@bp.route("/")
@login_required
def index():
    """Today's work: overdue and planned calls, leads with no next step, stuck and quiet ones."""
    view = AgendaView(request.args, current_user)
    context = sections_context(view)
    return htmx.render(
        "agenda/index.html",
        "agenda/_sections.html",
        title=_("Agenda"),
        active="agenda",
        team=lists.team() if access.manages_the_team(current_user) else [],
        calls_owed=calls_owed(view, context["calls"]),
        **context,
    )


def calls_owed(view, queue):
    """The person's own calls to write up, for the navigation: the queue's count when the
    agenda is theirs."""
    if view.owner_id == current_user.id:
        return queue.to_write_up_count
    return call_service.owed_count(current_user.id)


@bp.route("/sections/<key>")
@login_required
def section_more(key):
    """The next rows of one section."""
    if key not in SECTIONS:
        abort(404)
    view = AgendaView(request.args, current_user)
    offset = request.args.get("offset", "")
    offset = min(int(offset), 100_000) if offset.isdecimal() and offset.isascii() else 0
    quiet_days = lists.quiet_after_days()
    stages = lists.open_stages()
    day = today()
    where = view.conditions()
    found = queries.counts(view.owner_id, day, stages, quiet_days, where)
    count, listed = found.get(key, (0, 0))
    rows = queries.section_rows(key, view.owner_id, day, stages, quiet_days, offset, where=where)
    section = queries.Section(key, count, listed, rows, offset)
    return render_template(
        "agenda/_rows.html",
        view=view,
        section=section,
        **rows_context(view, rows),
    )


@bp.route("/leads/<int:lead_id>/log", methods=["GET", "POST"])
@login_required
@idempotent(render_error)
def log(lead_id):
    """The lead page's log form, in the agenda row; logging redraws the sections."""
    lead = lead_by_id_or_404(lead_id)
    if not access.may_change(lead, current_user):
        abort(403)
    view = AgendaView(request.args, current_user)
    choices = lists.Choices()
    if request.method == "GET":
        return log_form(lead, view, new_log_form(lead, choices), choices)
    form = new_log_form(lead, choices, formdata=request.form)
    if save_log(lead, form, choices, current_user):
        return sections(view, _("Contact with #%(number)d logged.", number=lead.number))
    return log_form(lead, view, form, lists.Choices(), status=422)


def log_form(lead, view, form, choices, status=200):
    body = render_template(
        "_log_form.html",
        lead=lead,
        log_form=form,
        choices=choices,
        focus=True,
        log_url=view.url("agenda.log", lead_id=lead.id),
        fresh_form_url=url_for("agenda.log", lead_id=lead.id),
        log_target="#agenda-sections",
        log_swap="outerHTML",
    )
    return make_response(body, status)


def sections(view, message, status=200):
    return make_response(
        render_template("agenda/_sections.html", **sections_context(view, message)), status
    )


@bp.route("/leads/<int:lead_id>/reschedule", methods=["POST"])
@login_required
def reschedule(lead_id):
    """Move the next step to today + 1, 3 or 7 days keeping its time, or to the day (and time)
    typed ("пт 15:30")."""
    lead = lead_by_id_or_404(lead_id)
    view = AgendaView(request.args, current_user)
    reading = new_day(request.form)
    if reading is None:
        return refused(view, _("Pick a date for the next step."))
    if isinstance(reading, typed_dates.Misreading):
        return refused(view, str(MISREADINGS[reading]))
    day = reading.day
    try:
        funnel.reschedule(lead, current_user, moved_to(lead, reading))
    except funnel.FunnelError as error:
        db.session.rollback()
        status = 403 if isinstance(error, funnel.NotAllowed) else 422
        return refused(view, error.message, status)
    db.session.commit()
    message = _(
        "Next step of #%(number)d moved to %(day)s.",
        number=lead.number,
        day=format_day(day),
    )
    return sections(view, message)


def new_day(form):
    """The day the step moves to, as a Reading (with the time typed, if any); a Misreading of
    what was typed; or None when nothing was picked."""
    days = form.get("days", "")
    if days.isdecimal() and days.isascii() and int(days) in RESCHEDULE_DAYS:
        return typed_dates.Reading(local_today() + timedelta(days=int(days)))
    typed = text_arg(form.get("date"), typed_dates.MAX_LENGTH + 1)
    if not typed:
        return None
    return typed_dates.read(typed, local_now())


def moved_to(lead, reading):
    """The moment the step moves to: the time typed, or else the step's own time of day."""
    if reading.at is None:
        return at_same_time(lead, reading.day)
    return to_utc(reading.moment())


def at_same_time(lead, day):
    """The new day at the step's old local time of day (a step without a time stays so)."""
    local = to_local(lead.next_step_at)
    moment = datetime.combine(day, local.time() if local else datetime.min.time())
    return to_utc(moment)


def format_day(day):
    return medium_date(day, str(user_locale()))


def refused(view, message, status=422):
    return sections(view, message, status)
