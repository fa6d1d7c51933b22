"""The lead page: header, details, the log form and the timeline."""

from datetime import datetime

from flask import abort, flash, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from crm import funnel, htmx
from crm.access import may_see
from crm.extensions import db
from crm.leads import bp
from crm.leads.forms import LeadDetailsForm, LogForm, attach_error, lead_details
from crm.leads.lead_queries import (
    activity_kinds,
    lost_reasons,
    stages_in_order,
    team,
    timeline_page,
)
from crm.leads.queries import MAX_ID
from crm.models import Activity, Lead
from crm.timezones import combine, local_now, to_local, to_utc

# Larger numbers than a database integer holds cannot name anything: 404, not a crash.
LARGEST_ID = 2**63 - 1


def get_lead_or_404(number):
    if number > LARGEST_ID:
        abort(404)
    lead = db.session.scalar(select(Lead).where(Lead.number == number))
    return visible_or_404(lead)


def get_lead_by_id_or_404(lead_id):
    """The lead with this id (the board and the agenda address leads by id), or 404."""
    # Ids are 32-bit: PostgreSQL refuses a bigger one rather than finding nothing.
    lead = db.session.get(Lead, lead_id) if lead_id <= MAX_ID else None
    return visible_or_404(lead)


def visible_or_404(lead):
    """A lead hidden from the user is answered as if it did not exist: a guessed number
    tells nothing."""
    if lead is None or not may_see(lead, current_user):
        abort(404)
    return lead


def changeable_lead_or_403(number):
    """A lead the user may change: a colleague's lead they may only read is 403."""
    lead = get_lead_or_404(number)
    if not funnel.may_change(lead, current_user):
        abort(403)
    return lead


def get_activity_or_404(lead, activity_id):
    activity = db.session.get(Activity, activity_id) if activity_id <= LARGEST_ID else None
    if activity is None or activity.lead_id != lead.id or activity.deleted_at is not None:
        abort(404)
    return activity


def by_id(items):
    return {item.id: item for item in items}


class Choices:
    """The pick lists of the page, loaded once per request."""

    def __init__(self):
        self.stages = stages_in_order()
        self.kinds = activity_kinds()
        self.reasons = lost_reasons()
        self.team = team()
        self.stage_by_id = by_id(self.stages)

    def fill_log_form(self, form):
        form.kind_id.choices = {str(k.id): k.name for k in self.kinds}
        # The stage kind rides along so the page can show the lost and won fields when needed.
        form.stage_id.choices = [
            SelectChoice(str(s.id), s.name, render_kw={"data-kind": s.kind}) for s in self.stages
        ]
        form.lost_reason_id.choices = {"": "—"} | {str(r.id): r.name for r in self.reasons}
        return form

    def fill_lead_form(self, form):
        form.owner_id.choices = {"": _("Nobody")} | {str(u.id): u.name for u in self.team}
        return form


def new_log_form(lead, choices, formdata=None):
    """The log form: a call, now, leaving the stage as it is."""
    form = LogForm(formdata=formdata)
    choices.fill_log_form(form)
    if formdata is None:
        calls = [k for k in choices.kinds if k.code == "call"] or choices.kinds
        form.kind_id.data = calls[0].id if calls else None
        form.occurred_at.data = local_now().replace(second=0, microsecond=0)
        form.offered_time.data = form.occurred_at.data.isoformat()
        form.stage_id.data = lead.stage_id
        # The planned step stays unless the user changes or clears it.
        local = to_local(lead.next_step_at)
        form.next_step_date.data = local.date() if local else None
        form.next_step_time.data = local.time() if local and (local.hour or local.minute) else None
        form.next_step_note.data = lead.next_step_note
    return form


def page_context(lead, choices, log_form=None, status=200):
    items, more = timeline_page(lead, choices.stage_by_id)
    return {
        "lead": lead,
        "choices": choices,
        "log_form": log_form or new_log_form(lead, choices),
        "items": items,
        "older_cursor": more,
        "active": "leads",
    }


@bp.route("/<int:number>")
@login_required
def show(number):
    """A lead's page: who they are, what was said, and the form to log the next contact."""
    lead = get_lead_or_404(number)
    choices = Choices()
    return render_template("leads/show.html", **page_context(lead, choices))


@bp.route("/<int:number>/timeline")
@login_required
def timeline(number):
    """Older timeline items, appended below the ones shown ("load older")."""
    lead = get_lead_or_404(number)
    choices = Choices()
    try:
        before = parse_cursor(request.args.get("before", ""))
    except ValueError:
        abort(400)
    items, more = timeline_page(lead, choices.stage_by_id, before=before)
    context = {"lead": lead, "items": items, "older_cursor": more, "choices": choices}
    if htmx.is_partial():
        return render_template("leads/_timeline_page.html", **context)
    return render_template("leads/timeline.html", active="leads", **context)


def parse_cursor(text):
    moment, rank, item_id = text.split("~")
    if not (0 <= int(rank) <= 1 and 0 <= int(item_id) <= LARGEST_ID):
        raise ValueError(text)
    return datetime.fromisoformat(moment), int(rank), int(item_id)


@bp.route("/<int:number>/log", methods=["POST"])
@login_required
def log_activity(number):
    """Log a contact: what was said, the stage after it and the next step, in one submit."""
    lead = get_lead_or_404(number)
    choices = Choices()
    form = new_log_form(lead, choices, formdata=request.form)
    if save_log(lead, form, choices):
        # The commit expired the pick lists; loading them afresh is 4 queries, not 20.
        return logged(lead, Choices())
    return log_form_invalid(lead, form, Choices())


def save_log(lead, form, choices):
    """Log the contact the form describes and commit; False when the form or the funnel
    refused it, with the reason on the form (the lead page and the agenda both log so)."""
    if not form.validate():
        return False
    try:
        log_from_form(lead, form, choices)
    except funnel.FunnelError as error:
        db.session.rollback()
        attach_error(form, error.field, error.message)
        return False
    db.session.commit()
    return True


def log_from_form(lead, form, choices):
    stage = choices.stage_by_id.get(form.stage_id.data)
    reason = next((r for r in choices.reasons if r.id == form.lost_reason_id.data), None)
    kind = next((k for k in choices.kinds if k.id == form.kind_id.data), None)
    next_step_at = combine(form.next_step_date.data, form.next_step_time.data)
    return funnel.log_activity(
        lead,
        current_user,
        kind,
        form.body.data,
        occurred_at=occurred_at(form),
        stage=stage,
        # Left empty, the lead has no next step: the agenda then asks for one.
        next_step_at=next_step_at,
        next_step_note=form.next_step_note.data,
        lost_reason=reason,
        lost_note=form.lost_note.data,
        value=form.value.data,
    )


def occurred_at(form):
    """When the contact happened: as typed, or exactly now if the offered time was left."""
    try:
        offered = datetime.fromisoformat(form.offered_time.data or "")
    except ValueError:
        offered = None
    if form.occurred_at.data == offered:
        return None  # the service takes now
    return to_utc(form.occurred_at.data)


def logged(lead, choices):
    """After logging: the timeline's first page afresh (a backdated contact lands in its place),
    the badge and next step updated, and a fresh form."""
    if not htmx.is_htmx():
        flash(_("Contact logged."), "success")
        return htmx.redirect_to(url_for("leads.show", number=lead.number))
    items, older_cursor = timeline_page(lead, choices.stage_by_id)
    body = render_template(
        "leads/_logged.html",
        lead=lead,
        items=items,
        older_cursor=older_cursor,
        choices=choices,
        log_form=new_log_form(lead, choices),
        message=_("Contact logged."),
    )
    response = make_response(body)
    response.vary.add(htmx.VARY_ON)
    return response


def log_form_invalid(lead, form, choices):
    if htmx.is_htmx():
        response = make_response(
            render_template("leads/_log_form.html", lead=lead, log_form=form, choices=choices),
            422,
        )
        response.vary.add(htmx.VARY_ON)
        return response
    context = page_context(lead, choices, log_form=form)
    return render_template("leads/show.html", **context), 422


@bp.route("/<int:number>/details", methods=["GET", "POST"])
@login_required
def edit_details(number):
    """Edit the lead's details in place: the summary swaps to a form and back."""
    lead = changeable_lead_or_403(number)
    choices = Choices()
    form = choices.fill_lead_form(LeadDetailsForm(obj=lead if request.method == "GET" else None))
    if request.method == "GET":
        local = to_local(lead.next_step_at)
        form.next_step_date.data = local.date() if local else None
        form.next_step_time.data = local.time() if local and (local.hour or local.minute) else None
        return htmx.render(
            "leads/edit.html",
            "leads/_details_form.html",
            lead=lead,
            form=form,
            choices=choices,
            active="leads",
        )
    if form.validate():
        try:
            save_details(lead, form, choices)
        except funnel.FunnelError as error:
            db.session.rollback()
            attach_error(form, error.field, error.message)
        else:
            db.session.commit()
            if htmx.is_htmx():
                return htmx.render(
                    "leads/show.html", "leads/_summary.html", lead=lead, choices=choices
                )
            flash(_("Lead saved."), "success")
            return htmx.redirect_to(url_for("leads.show", number=lead.number))
    return htmx.render(
        "leads/edit.html",
        "leads/_details_form.html",
        status=422,
        lead=lead,
        form=form,
        choices=choices,
        active="leads",
    )


def save_details(lead, form, choices):
    owner_ids = {u.id for u in choices.team}
    if form.owner_id.data is not None and form.owner_id.data not in owner_ids:
        raise funnel.FunnelError(_("Choose someone from the list."), "owner_id")
    funnel.update_lead(lead, current_user, **lead_details(form))


@bp.route("/<int:number>/summary")
@login_required
def summary(number):
    """The lead's header and details (what "Cancel" on the edit form swaps back)."""
    lead = get_lead_or_404(number)
    choices = Choices()
    context = {"lead": lead, "choices": choices}
    if not htmx.is_partial():
        context = page_context(lead, choices)
    return htmx.render("leads/show.html", "leads/_summary.html", **context)


@bp.route("/<int:number>/archive", methods=["POST"])
@login_required
def archive(number):
    """Archive or restore: archived leads leave lists and the board but keep their history."""
    lead = changeable_lead_or_403(number)
    if request.form.get("restore"):
        funnel.restore_lead(lead, current_user)
        flash(_("Lead restored."), "success")
    else:
        funnel.archive_lead(lead, current_user)
        flash(_("Lead archived. It keeps its history and can be restored."), "info")
    db.session.commit()
    return htmx.redirect_to(url_for("leads.show", number=lead.number))


@bp.route("/<int:number>/activities/<int:activity_id>", methods=["GET", "POST"])
@login_required
def edit_activity(number, activity_id):
    """Correct one's own activity within a day; the old wording is kept."""
    lead = get_lead_or_404(number)
    activity = get_activity_or_404(lead, activity_id)
    if not funnel.can_change_activity(activity, current_user):
        abort(403)
    choices = Choices()
    form = choices.fill_log_form(
        LogForm(formdata=request.form if request.method == "POST" else None, obj=activity)
    )
    if request.method == "GET":
        form.occurred_at.data = to_local(activity.occurred_at)
    elif (
        form.kind_id.validate(form) and form.occurred_at.validate(form) and form.body.validate(form)
    ):
        kind = next((k for k in choices.kinds if k.id == form.kind_id.data), None)
        try:
            funnel.edit_activity(
                activity, current_user, kind, form.body.data, to_utc(form.occurred_at.data)
            )
        except funnel.FunnelError as error:
            db.session.rollback()
            attach_error(form, error.field, error.message)
        else:
            db.session.commit()
            flash(_("Activity updated."), "success")
            return htmx.redirect_to(url_for("leads.show", number=lead.number))
    status = 422 if request.method == "POST" else 200
    return htmx.render(
        "leads/edit_activity.html",
        "leads/_activity_form.html",
        status=status,
        lead=lead,
        activity=activity,
        form=form,
        active="leads",
    )


@bp.route("/<int:number>/activities/<int:activity_id>/delete", methods=["POST"])
@login_required
def delete_activity(number, activity_id):
    """Remove one's own activity from the timeline; it is kept in the history."""
    lead = get_lead_or_404(number)
    activity = get_activity_or_404(lead, activity_id)
    try:
        funnel.delete_activity(activity, current_user)
    except funnel.FunnelError:
        abort(403)
    db.session.commit()
    flash(_("Activity deleted."), "info")
    return htmx.redirect_to(url_for("leads.show", number=lead.number))
