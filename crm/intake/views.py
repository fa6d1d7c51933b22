"""Settings → Intake forms: administrators set up the forms that bring requests in from their
sites, and copy each one's address and ready-made HTML."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm import custom_fields, lists
from crm.args import MAX_ID
from crm.extensions import db
from crm.forms import ActionForm
from crm.intake import bp, receiving
from crm.intake.forms import IntakeSettingsForm, reply_choices
from crm.models import IntakeForm
from crm.security import admin_required


def get_form_or_404(form_id):
    # An id no INTEGER holds is no form; SQLite would not even take it as a parameter.
    form = db.session.get(IntakeForm, form_id) if 0 < form_id <= MAX_ID else None
    if form is None:
        abort(404)
    return form


def public_url(form):
    return url_for("intake.receive", token=form.token, _external=True)


def snippet(form):
    """The HTML to paste into a page of the site: a plain form posting to the form's address."""
    return render_template("intake/_snippet.html", action=public_url(form)).strip()


def settings_form(form=None):
    """The settings form, filled from `form` (an IntakeForm) or from the request."""
    settings = IntakeSettingsForm(obj=form)
    team = lists.team()
    settings.owner_id.choices = {"": _("Nobody: anyone may take them")} | {
        person.id: person.name for person in team
    }
    if (
        form is not None
        and form.owner_id is not None
        and form.owner_id not in settings.owner_id.choices
    ):
        # A deactivated owner stays shown until someone else is chosen.
        settings.owner_id.choices[form.owner_id] = form.owner.name
    settings.start_stage_id.choices = start_choices()
    return settings


def start_choices():
    """Where a request's new lead can start: an open stage of a pipeline still offered, by
    pipeline when there are several."""
    stages = [
        stage
        for stage in lists.stages_in_order()
        if stage.is_open and stage.pipeline.archived_at is None
    ]
    several = len({stage.pipeline_id for stage in stages}) > 1
    return {"": _("The first stage")} | {
        stage.id: f"{stage.pipeline.name}: {stage.name}" if several else stage.name
        for stage in stages
    }


def apply(settings, form):
    form.name = settings.name.data
    form.source = settings.source.data or None
    form.owner_id = settings.owner_id.data
    form.start_stage_id = settings.start_stage_id.data
    form.allowed_origins = settings.allowed_origins.data or ""
    form.reply = settings.reply.data
    form.redirect_url = settings.redirect_url.data or None
    form.active = settings.active.data


@bp.route("/settings/intake-forms")
@admin_required
def index():
    """The intake forms, each with its address and the HTML to put on the site."""
    forms = db.session.scalars(
        select(IntakeForm)
        .options(joinedload(IntakeForm.owner))
        .order_by(IntakeForm.name, IntakeForm.id)
    ).all()
    return render_template(
        "intake/index.html",
        title=_("Intake forms"),
        active="settings",
        forms=[(form, public_url(form), snippet(form)) for form in forms],
        replies=reply_choices(),
        action=ActionForm(),
        own_fields=custom_fields.active_fields(),
    )


@bp.route("/settings/intake-forms/new", methods=["GET", "POST"])
@admin_required
def new():
    """Set up an intake form; it gets its secret address at once."""
    settings = settings_form()
    if settings.validate_on_submit():
        form = IntakeForm(token=receiving.new_token())
        apply(settings, form)
        db.session.add(form)
        # Named in the language of whoever sets up the first form.
        receiving.request_kind(str(get_locale()))
        db.session.commit()
        flash(
            _("Intake form “%(name)s” created. Put its HTML on your site.", name=form.name),
            "success",
        )
        return redirect(url_for("intake.index", _anchor=f"intake-form-{form.id}"), 303)
    return render_template(
        "intake/edit.html",
        title=_("New intake form"),
        active="settings",
        settings=settings,
        form=None,
    ), 422 if settings.errors else 200


@bp.route("/settings/intake-forms/<int:form_id>", methods=["GET", "POST"])
@admin_required
def edit(form_id):
    """Change an intake form's settings; its address stays the same."""
    form = get_form_or_404(form_id)
    settings = settings_form(form)
    if settings.validate_on_submit():
        apply(settings, form)
        db.session.commit()
        flash(_("Intake form “%(name)s” saved.", name=form.name), "success")
        return redirect(url_for("intake.index", _anchor=f"intake-form-{form.id}"), 303)
    return render_template(
        "intake/edit.html",
        title=_("Intake form “%(name)s”", name=form.name),
        active="settings",
        settings=settings,
        form=form,
        action=ActionForm(),
    ), 422 if settings.errors else 200


@bp.route("/settings/intake-forms/<int:form_id>/address", methods=["POST"])
@admin_required
def new_address(form_id):
    """Give a form a new secret address: the old one stops working at once."""
    form = get_form_or_404(form_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    form.token = receiving.new_token()
    db.session.commit()
    flash(
        _(
            "“%(name)s” has a new address: put its new HTML on your site, "
            "the old address no longer works.",
            name=form.name,
        ),
        "success",
    )
    return redirect(url_for("intake.index", _anchor=f"intake-form-{form.id}"), 303)
