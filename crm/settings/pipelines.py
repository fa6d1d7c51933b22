"""Settings → Pipelines: the ways the team sells, each with its own stages, for administrators.

Adding one gives it a stage of each kind to rename; its stages are edited on the stages page.
Archiving one moves its open leads to a stage of another pipeline first, each move recorded.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select

from crm import htmx, lists, pipelines
from crm.errors import render_error
from crm.extensions import db
from crm.forms import ActionForm
from crm.lists import SettingsError
from crm.models import Lead, Pipeline, Stage
from crm.security import admin_required
from crm.settings import bp
from crm.settings.forms import ArchivePipelineForm, MoveForm, PipelineForm
from crm.settings.views import focus_after_move, get_or_404, moved_one_step, show_error


def pipeline_rows():
    """Every pipeline in order with its stage and lead counts: three queries."""
    found = db.session.scalars(Pipeline.in_order()).all()
    stages = dict(
        db.session.execute(
            select(Stage.pipeline_id, func.count()).group_by(Stage.pipeline_id)
        ).all()
    )
    leads = dict(
        db.session.execute(
            select(Stage.pipeline_id, func.count())
            .join(Lead, Lead.stage_id == Stage.id)
            .group_by(Stage.pipeline_id)
        ).all()
    )
    return [(each, stages.get(each.id, 0), leads.get(each.id, 0)) for each in found]


def list_context(**extra):
    return {"rows": pipeline_rows(), "active": "settings", **extra}


@bp.route("/pipelines", methods=["GET", "POST"])
@admin_required
def pipelines_page():
    """The pipelines in order, and a form to add one."""
    form = PipelineForm()
    if form.validate_on_submit():
        try:
            added = pipelines.add_pipeline(form.name.data)
        except SettingsError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Pipeline “%(name)s” added: name its stages.", name=added.name), "success")
            return redirect(url_for("settings.stages", pipeline=added.id), 303)
    status = 422 if form.errors else 200
    context = list_context(form=form, focus_id=request.args.get("focus"))
    return render_template("settings/pipelines.html", **context), status


@bp.route("/pipelines/<int:pipeline_id>", methods=["GET", "POST"])
@admin_required
def pipeline_rename(pipeline_id):
    pipeline = get_or_404(Pipeline, pipeline_id)
    form = PipelineForm(obj=pipeline)
    if form.validate_on_submit():
        try:
            pipelines.rename_pipeline(pipeline, form.name.data)
        except SettingsError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("“%(name)s” saved.", name=pipeline.name), "success")
            return redirect(url_for("settings.pipelines_page"), 303)
    status = 422 if form.errors else 200
    return render_template(
        "settings/pipeline_rename.html", form=form, pipeline=pipeline, active="settings"
    ), status


@bp.route("/pipelines/<int:pipeline_id>/move", methods=["POST"])
@admin_required
def pipeline_move(pipeline_id):
    """One place up or down: the board's switch and the reports list them in this order."""
    pipeline = get_or_404(Pipeline, pipeline_id)
    form = MoveForm()
    if not form.validate_on_submit():
        return render_error(422, _("Choose up or down."))
    moved = lists.move(Pipeline, pipeline, form.direction.data)
    db.session.commit()
    if moved:
        flash(moved_one_step(pipeline.name, form.direction.data), "success")
    order = list(db.session.scalars(Pipeline.in_order()))
    focus_id = focus_after_move("pipeline", order, pipeline, form.direction.data)
    if htmx.is_partial():
        return htmx.render(
            "settings/pipelines.html",
            "settings/_pipeline_list.html",
            oob_messages=True,
            **list_context(focus_id=focus_id),
        )
    return redirect(url_for("settings.pipelines_page", focus=focus_id), 303)


def archive_form(pipeline):
    """The form, and the open stages of the other pipelines offered, by id."""
    form = ArchivePipelineForm()
    targets = [
        stage
        for stage in lists.open_stages()
        if stage.pipeline_id != pipeline.id and stage.pipeline.archived_at is None
    ]
    form.target_stage_id.choices = {None: _("Choose a stage…")} | {
        stage.id: f"{stage.pipeline.name}: {stage.name}" for stage in targets
    }
    return form, {stage.id: stage for stage in targets}


@bp.route("/pipelines/<int:pipeline_id>/archive", methods=["GET", "POST"])
@admin_required
def pipeline_archive(pipeline_id):
    """Stop offering a pipeline; its open leads go to a stage of another pipeline first."""
    pipeline = get_or_404(Pipeline, pipeline_id)
    form, targets = archive_form(pipeline)
    open_count = pipelines.open_leads(pipeline)
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 422
        else:
            try:
                moved = pipelines.archive_pipeline(
                    pipeline, targets.get(form.target_stage_id.data), current_user
                )
            except SettingsError as error:
                db.session.rollback()
                show_error(form, error)
                status = 422
            else:
                db.session.commit()
                flash(archived_message(pipeline, moved), "success")
                return redirect(url_for("settings.pipelines_page"), 303)
    return render_template(
        "settings/pipeline_archive.html",
        form=form,
        pipeline=pipeline,
        open_count=open_count,
        only_one=len(lists.pipelines()) < 2 and pipeline.archived_at is None,
        active="settings",
    ), status


def archived_message(pipeline, moved):
    if not moved:
        return _("Pipeline “%(name)s” archived.", name=pipeline.name)
    return ngettext(
        "Moved %(num)d open lead and archived “%(name)s”.",
        "Moved %(num)d open leads and archived “%(name)s”.",
        moved,
        name=pipeline.name,
    )


@bp.route("/pipelines/<int:pipeline_id>/restore", methods=["POST"])
@admin_required
def pipeline_restore(pipeline_id):
    pipeline = get_or_404(Pipeline, pipeline_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    pipelines.restore_pipeline(pipeline)
    db.session.commit()
    flash(_("Pipeline “%(name)s” is offered again.", name=pipeline.name), "success")
    return redirect(url_for("settings.pipelines_page"), 303)
