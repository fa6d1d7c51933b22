"""The lead register: the list with search, filters and sort, and the new lead form."""

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from markupsafe import escape
from werkzeug.datastructures import MultiDict

from crm import access, custom_fields, funnel, htmx, lists, typed_dates
from crm.args import id_arg, text_arg
from crm.errors import render_error
from crm.extensions import db
from crm.field_inputs import FieldInputs
from crm.formatting import currency
from crm.forms import attach_error, optional_id, preview
from crm.idempotency import idempotent
from crm.leads import bp, queries
from crm.leads.filters import LeadList
from crm.leads.forms import LeadForm, lead_details
from crm.leads.rows import Rows


@bp.route("/")
@login_required
def index():
    """The lead register: search as you type, filters, sort, fifty leads a page."""
    view = LeadList(request.args, current_user)
    page = queries.lead_page(view.filters(), view.sort, view.descending, view.cursor)
    choices = NewLeadChoices()
    return htmx.render(
        "leads/index.html",
        "leads/_rows.html",
        title=_("Leads"),
        active="leads",
        view=view,
        leads=page.leads,
        row=Rows(queries.last_contacts(page.leads), view.columns, choices.currency_sign),
        count=page.count,
        count_cap=queries.COUNT_CAP,
        next_url=view.next_url(page.next_cursor) if page.next_cursor else None,
        stages=choices.all_stages,
        pipelines=pipelines_of(choices.all_stages),
        team=choices.team,
        currency_sign=choices.currency_sign,
        may_reassign=access.manages_the_team(current_user),
    )


class NewLeadChoices:
    """The pick lists of the new lead form, loaded once per request."""

    def __init__(self):
        self.team = lists.team()
        # The pipelines this person works in (a salesperson may be limited to some).
        self.all_stages = [
            stage
            for stage in lists.stages_in_order()
            if access.may_use_pipeline(current_user, stage.pipeline_id)
        ]
        # A lead starts in an open stage (it is won or lost only after some contact) of a
        # pipeline still offered.
        self.stages = [
            stage
            for stage in self.all_stages
            if stage.is_open and stage.pipeline.archived_at is None
        ]
        self.currency_sign = currency()

    def fill(self, form):
        form.owner_id.choices = owner_choices(self.team)
        form.stage_id.choices = stage_choices(self.stages)
        return form

    def stage(self, stage_id):
        return next((stage for stage in self.stages if stage.id == stage_id), None)


def pipelines_of(stages):
    """The pipelines of `stages` (in order, loaded with them), each once."""
    return list({stage.pipeline_id: stage.pipeline for stage in stages}.values())


def owner_choices(team):
    """Who a lead can be given to from the form: anyone, for a manager; a salesperson keeps
    their leads or leaves them to nobody (see funnel.check_handing)."""
    if not access.gives_leads_to_others(current_user):
        team = [person for person in team if person.id == current_user.id]
    return {"": _("Nobody")} | {str(person.id): person.name for person in team}


def stage_choices(stages):
    """The stages to pick from, grouped by pipeline when there are several (each pipeline has
    its own names, "Won" in each)."""
    if len({stage.pipeline_id for stage in stages}) < 2:
        return {str(stage.id): stage.name for stage in stages}
    grouped = {}
    for stage in stages:
        grouped.setdefault(stage.pipeline.name, {})[str(stage.id)] = stage.name
    return grouped


def without_nul(formdata):
    # PostgreSQL cannot store NUL in text, and no one types it: drop it rather than fail.
    return MultiDict(
        (name, value.replace("\x00", "") if isinstance(value, str) else value)
        for name, value in formdata.items(multi=True)
    )


def new_lead_form(choices, formdata=None):
    """The new lead form: owned by whoever fills it in, in the first stage of the funnel."""
    first = choices.stages[0].id if choices.stages else None
    form = LeadForm(formdata=formdata, owner_id=current_user.id, stage_id=first)
    return choices.fill(form)


def new_lead_inputs(formdata=None, stored=None):
    """The team's own fields the new lead form asks for: those marked for it, and every
    required one (filled with `stored` values, for a client's new lead)."""
    fields = [
        field for field in custom_fields.active_fields() if field.on_new_form or field.required
    ]
    return FieldInputs(fields, stored=stored, formdata=formdata)


def create_from_form(form, choices, fields, client=None):
    """The lead the form describes; for a `client`, with that lead's fields and people too
    (those the form shows as it was sent)."""
    details = lead_details(form)
    if client is not None:
        fields = {**client_fields(client), **fields}
        details["people"] = [funnel.person_details(person) for person in client.people]
    return funnel.create_lead(
        current_user, stage=choices.stage(form.stage_id.data), fields=fields, **details
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
@idempotent(render_error)
def new():
    """Register a lead: checked, compared with the leads already known, then saved. Given a
    `client` (a lead's number), a new lead for that client: its fields and people copied."""
    choices = NewLeadChoices()
    # The list's folded form asks for itself (and posts) with htmx; a plain post gets the page.
    inline = htmx.is_partial() and (request.method == "GET" or request.form.get("inline") == "1")
    client = client_lead(request.values.get("client"))
    duplicates = []
    if request.method == "GET":
        form, inputs = new_lead_form(choices), new_lead_inputs()
        if client is not None:
            prefill_for_client(form, client, choices)
            inputs = new_lead_inputs(stored=client_fields(client))
    else:
        formdata = without_nul(request.form)
        form, inputs = new_lead_form(choices, formdata=formdata), new_lead_inputs(formdata)
        # Both checked, so every mistake is told at once; the fields required are the chosen
        # pipeline's.
        chosen = choices.stage(optional_id(formdata.get("stage_id")))
        pipeline_id = chosen.pipeline_id if chosen else None
        if form.validate() & inputs.check(new_lead=True, pipeline_id=pipeline_id):
            # The client's own leads are no surprise: the warning is for one not known.
            if request.form.get("confirmed") != "1" and client is None:
                duplicates = access.told_of(
                    queries.possible_duplicates(
                        form.title.data, form.email.data, form.phone.data, inputs.values()
                    ),
                    current_user,
                )
            if not duplicates:
                try:
                    lead = create_from_form(form, choices, inputs.changes(), client)
                except funnel.FunnelError as error:
                    db.session.rollback()
                    if not inputs.attach(error):
                        attach_error(form, error.field, error.message)
                else:
                    db.session.commit()
                    flash(_("Lead #%(number)d created.", number=lead.number), "success")
                    return htmx.redirect_to(url_for("leads.show", number=lead.number))
    return htmx.render(
        "leads/new.html",
        "leads/_new_form.html",
        status=422 if form.errors or inputs.errors else 200,
        title=_("New lead"),
        active="leads",
        form=form,
        inputs=inputs,
        duplicates=duplicates,
        inline=inline,
        client=client,
        currency_sign=choices.currency_sign,
    )


def client_lead(number):
    """The lead whose client a new lead is for (404 when the user may not see it); None for
    none."""
    number = id_arg(number)
    return None if number is None else access.lead_or_404(number)


def client_fields(client):
    """The client's values of the team's fields in use, to copy to its new lead."""
    active = {field.key for field in custom_fields.active_fields()}
    return {key: value for key, value in (client.fields or {}).items() if key in active}


def prefill_for_client(form, client, choices):
    """The new lead form for another lead of `client`'s: its title, contact and fields, in
    the next pipeline's first stage (a renewal, a second project)."""
    form.title.data = client.title
    form.contact_name.data = client.contact_name
    form.phone.data = client.phone
    form.email.data = client.email
    form.source.data = client.source
    form.stage_id.data = next_pipeline_stage(client, choices.stages)


def next_pipeline_stage(client, stages):
    """The first open stage of the pipeline after the client's lead's (or of its own when it
    is the only one)."""
    pipelines = list(dict.fromkeys(stage.pipeline_id for stage in stages))
    if not pipelines:
        return None
    here = client.stage.pipeline_id
    after = pipelines[(pipelines.index(here) + 1) % len(pipelines)] if here in pipelines else here
    return next((s.id for s in stages if s.pipeline_id == after), stages[0].id)


@bp.route("/reassign", methods=["POST"])
@login_required
def reassign():
    """Give every lead the list's search and filters match (all pages) to someone else."""
    if not access.manages_the_team(current_user):
        abort(403)
    view = LeadList(request.args, current_user)
    team = {str(person.id): person for person in lists.team()}
    choice = request.form.get("owner_id", "")
    if choice != "" and choice not in team:
        return render_error(422, _("Choose someone from the list."))
    owner = team.get(choice)
    lead_ids = queries.matching_ids(view.filters())
    if list_changed(request.form.get("expected", ""), len(lead_ids)):
        message = _("The list changed meanwhile: check it and reassign again. Nothing changed.")
        return render_error(409, message)
    changed = funnel.reassign_leads(lead_ids, owner.id if owner else None, current_user)
    db.session.commit()
    if owner:
        message = ngettext(
            "%(num)d lead now belongs to %(name)s.",
            "%(num)d leads now belong to %(name)s.",
            changed,
            name=owner.name,
        )
    else:
        message = ngettext(
            "%(num)d lead is now unclaimed.", "%(num)d leads are now unclaimed.", changed
        )
    flash(message, "success")
    return htmx.redirect_to(view.url())


def list_changed(expected, found):
    """Whether the leads matching differ from the count the manager saw (when it was exact)."""
    if not expected.isdecimal() or int(expected) > queries.COUNT_CAP:
        return False
    return int(expected) != found


@bp.route("/next-step")
@login_required
def next_step_preview():
    """What the next step typed so far means, in words: the line read out under the field."""
    # One character over the longest date read is enough to be refused as too long.
    typed = text_arg(request.args.get("next_step_when"), typed_dates.MAX_LENGTH + 1)
    return htmx.fragment(escape(preview(typed)))
