"""The lead page: header, details, the log form and the timeline."""

from datetime import datetime

from flask import abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from crm import access, custom_fields, funnel, htmx
from crm.access import activity_or_404, changeable_lead_or_403, lead_or_404
from crm.args import MAX_ID, id_arg
from crm.errors import render_error
from crm.extensions import commits_held, db
from crm.field_inputs import FieldInputs
from crm.forms import attach_error
from crm.idempotency import idempotent
from crm.leads import bp, queries
from crm.leads.forms import LeadDetailsForm, lead_details
from crm.leads.timeline import TimelineEntries
from crm.lists import Choices
from crm.log_form import LogForm, fill_choices, new_log_form, save_log
from crm.models import Lead
from crm.timezones import to_local, to_utc


def timeline_items(lead, choices, before=None, limit=queries.TIMELINE_PAGE):
    """A page of the lead's timeline, each activity knowing whether the user may correct it;
    and the cursor of the next page (or None)."""
    items, more = queries.timeline_page(lead, choices.stage_by_id, before=before, limit=limit)
    for item in items:
        if item.activity is not None:
            item.changeable = access.can_change_activity(item.activity, current_user)
    return items, more


def summary_context(lead, choices):
    """What the lead's header and details show, and whether this user may change the lead."""
    values = lead.fields or {}
    # The fields of the lead's pipeline (a field can be limited to some).
    fields = custom_fields.fields_for(lead.stage.pipeline_id)
    return {
        "lead": lead,
        "choices": choices,
        "pipeline_targets": pipeline_targets(lead, choices),
        "may_change_lead": access.may_change(lead, current_user),
        # The team's own fields: those filled in shown, the empty ones folded away.
        "filled_fields": [(f, values[f.key]) for f in fields if values.get(f.key) is not None],
        "empty_fields": [f for f in fields if values.get(f.key) is None],
    }


def pipeline_targets(lead, choices):
    """Where the lead can move to another pipeline: the open stages of the other pipelines
    still offered, {pipeline name: [stage]}, the first open stage of each first."""
    targets = {}
    for stage in choices.stages:
        elsewhere = stage.pipeline_id != lead.stage.pipeline_id
        offered = stage.pipeline.archived_at is None
        worked_in = access.may_use_pipeline(current_user, stage.pipeline_id)
        if elsewhere and stage.is_open and offered and worked_in:
            targets.setdefault(stage.pipeline.name, []).append(stage)
    return targets


def client_context(lead):
    """The other leads of the lead's client; a colleague's lead the user may not open is
    named without its details, as the duplicate warning names it (or left out with it)."""
    found, more = queries.client_leads(lead)
    return {
        "client_leads": access.told_of(found, current_user),
        "more_client_leads": more,
    }


def page_context(lead, choices, log_form=None):
    items, more = timeline_items(lead, choices)
    return (
        summary_context(lead, choices)
        | client_context(lead)
        | {
            "log_form": log_form or new_log_form(lead, choices),
            "items": items,
            "entry": TimelineEntries(lead),
            "older_cursor": more,
            "active": "leads",
        }
    )


def fill_lead_form(form, choices, lead):
    """The details form's owners: anyone, for a manager; a salesperson keeps the lead, leaves
    it to nobody, or leaves it with the colleague it is with (see funnel.check_handing)."""
    team = choices.team
    if not access.gives_leads_to_others(current_user):
        team = [person for person in team if person.id in (current_user.id, lead.owner_id)]
    form.owner_id.choices = {"": _("Nobody")} | {str(person.id): person.name for person in team}
    return form


@bp.route("/<int:number>")
@login_required
def show(number):
    """A lead's page: who they are, what was said, and the form to log the next contact."""
    # The people at the client come with the lead: a round trip less on PostgreSQL.
    lead = lead_or_404(number, joinedload(Lead.people))
    choices = Choices()
    return render_template("leads/show.html", **page_context(lead, choices))


@bp.route("/<int:number>/timeline")
@login_required
def timeline(number):
    """Older timeline items, appended below the ones shown ("load older")."""
    lead = lead_or_404(number)
    choices = Choices()
    try:
        before = parse_cursor(request.args.get("before", ""))
    except ValueError:
        abort(400)
    items, more = timeline_items(lead, choices, before=before)
    context = {
        "lead": lead,
        "items": items,
        "entry": TimelineEntries(lead),
        "older_cursor": more,
        "choices": choices,
    }
    if htmx.is_partial():
        return render_template("leads/_timeline_page.html", **context)
    return render_template("leads/timeline.html", active="leads", **context)


def parse_cursor(text):
    moment, rank, item_id = text.split("~")
    if not (0 <= int(rank) <= 1 and 0 <= int(item_id) <= MAX_ID):
        raise ValueError(text)
    return datetime.fromisoformat(moment), int(rank), int(item_id)


@bp.route("/<int:number>/log", methods=["POST"])
@login_required
@idempotent(render_error)
def log_activity(number):
    """Log a contact: what was said, the stage after it and the next step, in one submit."""
    lead = lead_or_404(number)
    choices = Choices()
    form = new_log_form(lead, choices, formdata=request.form)
    saved = save_log(lead, form, choices, current_user)
    if saved:
        # A commit expired the pick lists (loading them afresh is 4 queries, not 20); a held
        # one, waiting for the answer to be stored with it, did not.
        return logged(lead, choices if commits_held() else Choices(), saved)
    return log_form_invalid(lead, form, Choices())


def logged(lead, choices, saved):
    """After logging: the new contact on top of the timeline, the badge and next step updated,
    and a fresh form. A contact that does not land on top (backdated, or a call's written up)
    has the timeline's first page drawn afresh, so it shows in its place."""
    if not htmx.is_htmx():
        flash(_("Contact logged."), "success")
        return htmx.redirect_to(url_for("leads.show", number=lead.number))
    # The newest two: the new contact on top, with an older entry after it (the timeline was
    # not empty, so there is no "Nothing logged yet" to replace).
    newest, _older = timeline_items(lead, choices, limit=2)
    on_top = (
        not saved.written_up
        and len(newest) == 2
        and newest[0].activity is not None
        and newest[0].activity.id == saved.activity_id
    )
    if on_top:
        items, older_cursor = newest[:1], None
    else:
        items, older_cursor = timeline_items(lead, choices)
    response = htmx.fragment(
        render_template(
            "leads/_logged.html",
            lead=lead,
            items=items,
            entry=TimelineEntries(lead),
            older_cursor=older_cursor,
            on_top=on_top,
            choices=choices,
            log_form=new_log_form(lead, choices),
            message=_("Contact logged."),
        )
    )
    return htmx.retarget(response, "#timeline-items", "afterbegin") if on_top else response


def log_form_invalid(lead, form, choices):
    if htmx.is_htmx():
        body = render_template("_log_form.html", lead=lead, log_form=form, choices=choices)
        return htmx.fragment(body, 422)
    context = page_context(lead, choices, log_form=form)
    return render_template("leads/show.html", **context), 422


@bp.route("/<int:number>/details", methods=["GET", "POST"])
@login_required
def edit_details(number):
    """Edit the details and the team's fields in place: the summary swaps to a form and back."""
    lead = changeable_lead_or_403(number)
    choices = Choices()
    posted = request.form if request.method == "POST" else None
    form = fill_lead_form(LeadDetailsForm(obj=lead if posted is None else None), choices, lead)
    inputs = FieldInputs(custom_fields.fields_for(lead.stage.pipeline_id), lead.fields, posted)
    # The step as planned stays as it is, even if due, while its day is left as shown.
    form.next_step_when.offer(lead.next_step_at, fill=request.method == "GET")
    context = {"lead": lead, "form": form, "inputs": inputs, "choices": choices}
    if request.method == "GET":
        return htmx.render("leads/edit.html", "leads/_details_form.html", active="leads", **context)
    # Both checked, so every mistake is told at once.
    if form.validate() & inputs.check():
        try:
            save_details(lead, form, choices, inputs.changes())
        except funnel.FunnelError as error:
            db.session.rollback()
            if not inputs.attach(error):
                attach_error(form, error.field, error.message)
        else:
            db.session.commit()
            if htmx.is_htmx():
                return details_saved(lead, choices)
            flash(_("Lead saved."), "success")
            return htmx.redirect_to(url_for("leads.show", number=lead.number))
    return htmx.render(
        "leads/edit.html", "leads/_details_form.html", status=422, active="leads", **context
    )


def save_details(lead, form, choices, fields):
    owner_ids = {u.id for u in choices.team}
    if form.owner_id.data is not None and form.owner_id.data not in owner_ids:
        raise funnel.FunnelError(_("Choose someone from the list."), "owner_id")
    details = lead_details(form) | ({"fields": fields} if fields else {})
    funnel.update_lead(lead, current_user, **details)


def details_saved(lead, choices):
    """The details as saved, and the client's other leads afresh: an identifying field (ИНН)
    may have changed who the client is."""
    context = summary_context(lead, choices) | client_context(lead)
    return htmx.fragment(render_template("leads/_details_saved.html", **context))


@bp.route("/<int:number>/summary")
@login_required
def summary(number):
    """The lead's header and details (what "Cancel" on the edit form swaps back)."""
    lead = lead_or_404(number)
    choices = Choices()
    context = summary_context(lead, choices)
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


@bp.route("/<int:number>/pipeline", methods=["POST"])
@login_required
def move_to_pipeline(number):
    """Move the lead to an open stage of another pipeline: a stage change like any other, in
    its history; its contacts and next step go along."""
    lead = changeable_lead_or_403(number)
    stage_id = id_arg(request.form.get("stage_id"))
    targets = {
        stage.id: stage for stages in pipeline_targets(lead, Choices()).values() for stage in stages
    }
    stage = targets.get(stage_id)
    if stage is None:
        return render_error(422, _("Choose an open stage of another pipeline."))
    try:
        funnel.move_lead(lead, stage, current_user)
    except funnel.FunnelError as error:
        db.session.rollback()
        return render_error(422, error.message)
    db.session.commit()
    flash(
        _(
            "Lead #%(number)d moved to %(pipeline)s: %(stage)s.",
            number=lead.number,
            pipeline=stage.pipeline.name,
            stage=stage.name,
        ),
        "success",
    )
    return htmx.redirect_to(url_for("leads.show", number=lead.number))


@bp.route("/<int:number>/activities/<int:activity_id>", methods=["GET", "POST"])
@login_required
def edit_activity(number, activity_id):
    """Correct one's own activity within a day; the old wording is kept."""
    lead = lead_or_404(number)
    activity = activity_or_404(lead, activity_id)
    if not access.can_change_activity(activity, current_user):
        abort(403)
    choices = Choices()
    form = fill_choices(
        LogForm(formdata=request.form if request.method == "POST" else None, obj=activity),
        choices,
        lead.stage.pipeline_id,
    )
    if request.method == "GET":
        form.occurred_at.data = to_local(activity.occurred_at)
    elif (
        form.kind_id.validate(form) and form.occurred_at.validate(form) and form.body.validate(form)
    ):
        kind = choices.kind(form.kind_id.data)
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
    lead = lead_or_404(number)
    activity = activity_or_404(lead, activity_id)
    try:
        funnel.delete_activity(activity, current_user)
    except funnel.FunnelError:
        abort(403)
    db.session.commit()
    flash(_("Activity deleted."), "info")
    return htmx.redirect_to(url_for("leads.show", number=lead.number))
