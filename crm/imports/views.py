"""Settings → Import (administrators): upload a sheet, map its columns, read the dry run's
report, answer its questions, import; the page follows the progress by polling."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm import custom_fields, htmx, lists, parsing
from crm.args import id_arg
from crm.extensions import csrf, db
from crm.formatting import money, when
from crm.i18n import user_locale
from crm.imports import bp, changes, fields, jobs, team_fields
from crm.imports.engine import Settings
from crm.imports.forms import (
    ApplyForm,
    UploadForm,
    chosen_before,
    chosen_in,
    column_fields,
    column_name,
    mapping_form,
    new_fields_in,
    notes_warnings,
    questions_form,
)
from crm.imports.reading import FileProblem, inspect
from crm.lists import stages_in_order
from crm.models import ActivityKind, FieldType, LostReason, User
from crm.security import admin_required
from crm.timezones import user_zone

# Uploads may be larger than other requests: 100,000 rows of a sheet come to a few dozen MB.
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
RECENT = 10


def get_job_or_404(job_id):
    job = jobs.get(job_id)
    if job is None:
        abort(404)
    return job


@bp.route("/", methods=["GET", "POST"])
@csrf.exempt  # Checked below, once the size limit is raised: checking reads the upload.
@admin_required
def index():
    """The upload form, and the latest imports."""
    request.max_content_length = current_app.config.get("IMPORT_MAX_BYTES", MAX_UPLOAD_BYTES)
    if request.method == "POST" and current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        zone = user_zone()
        job = jobs.new(
            upload.stream,
            upload.filename,
            form.kind.data,
            current_user,
            str(user_locale()),
            getattr(zone, "zone", None) or str(zone),
        )
        try:
            job.layout = inspect(job.upload)
        except FileProblem as problem:
            jobs.discard(job)
            form.file.errors.append(problem.message)
        else:
            job.save()
            return redirect(url_for("imports.columns", job_id=job.id), 303)
    status = 422 if form.errors else 200
    return render_template(
        "imports/index.html", form=form, recent=jobs.recent(RECENT), active="settings"
    ), status


@dataclass
class Choices:
    """What the mapping page offers from the database."""

    people: list
    me: int
    kinds: list
    default_kind: int | None
    reasons: list

    @classmethod
    def load(cls):
        people = db.session.execute(
            select(User.id, User.name).where(User.active).order_by(User.name)
        ).all()
        kinds = db.session.scalars(lists.active_items(ActivityKind)).all()
        reasons = db.session.scalars(lists.active_items(LostReason)).all()
        return cls(
            people=[(person.id, person.name) for person in people],
            me=current_user.id,
            kinds=[(kind.id, kind.name) for kind in kinds],
            default_kind=kinds[0].id if kinds else None,
            reasons=[(reason.id, reason.name) for reason in reasons],
        )


def evident_date_order(layout):
    """The order the sample's dates prove, if they agree."""
    proven = {c.date_order for c in layout.columns if c.slashed and c.date_order} - {None}
    return proven.pop() if len(proven) == 1 and "both" not in proven else None


def field_label(kind, key):
    """The name of what a column is read into: a field of the lead's or of the team's."""
    if team_fields.is_field(key):
        own = custom_fields.by_key().get(team_fields.key_of(key))
        return own.label if own else key
    return fields.field_of(kind, key).label


def date_columns(kind, mapping, new_fields):
    """The columns read as dates: the lead's dates, and the team's date fields, new or not."""
    date_keys = {f.key for f in fields.fields_of(kind) if f.is_date} | {
        team_fields.field_value(f.key)
        for f in custom_fields.all_fields()
        if f.type == FieldType.DATE
    }
    dated = {index for key, index in mapping.items() if key in date_keys}
    return dated | {item["column"] for item in new_fields if item["type"] == FieldType.DATE}


def check_mapping(form, job):
    """Each field from one column at most, and enough to know which lead each row is about."""
    columns = column_fields(form, job.layout)
    mapping, ok = {}, True
    for column, select_field in columns:
        key = select_field.data
        if not key or team_fields.is_new(key):
            continue
        if key in mapping:
            label = field_label(job.kind, key)
            select_field.errors = [
                *select_field.errors,
                _("“%(field)s” is chosen for another column too.", field=label),
            ]
            ok = False
        else:
            mapping[key] = column.index
    if job.kind == fields.LEADS:
        if not {"number", "title", "contact_name", "email", "phone"} & set(mapping):
            form.form_errors.append(
                _("Choose the column with the leads' titles (or their contacts, emails or phones).")
            )
            ok = False
    else:
        if not {"lead_number", "lead_title", "lead_email", "lead_phone"} & set(mapping):
            form.form_errors.append(
                _("Choose the column that names the lead: its number, title, email or phone.")
            )
            ok = False
        if "occurred_at" not in mapping:
            form.form_errors.append(_("Choose the column with the date of each contact."))
            ok = False
    dated = date_columns(job.kind, mapping, new_fields_in(form, job.layout))
    undecided = any(
        column.slashed and column.date_order in (None, "both")
        for column in job.layout.columns
        if column.index in dated
    )
    if undecided and not form.date_order.data:
        form.date_order.errors = [
            *form.date_order.errors,
            _("Say whether the day or the month comes first in these dates."),
        ]
        ok = False
    return mapping if ok else None


@bp.route("/<job_id>/columns", methods=["GET", "POST"])
@admin_required
def columns(job_id):
    """Which column holds what; saving it starts the dry run."""
    job = get_job_or_404(job_id)
    if job.status in jobs.RUNNING + (jobs.DONE,):
        return redirect(url_for("imports.show", job_id=job.id), 303)
    choices = Choices.load()
    form = mapping_form(job, choices, formdata=request.form if request.method == "POST" else None)
    if request.method == "GET" and job.settings is None:
        form.date_order.data = evident_date_order(job.layout)
    if request.method == "POST" and form.validate():
        mapping = check_mapping(form, job)
        if mapping is not None:
            previous = job.settings
            job.settings = Settings(
                kind=job.kind,
                mapping=mapping,
                new_fields=new_fields_in(form, job.layout),
                date_order=form.date_order.data or None,
                statuses=previous.statuses if previous else {},
                owner_id=form.owner_id.data if "owner_id" in form else None,
                pipeline_id=form.pipeline_id.data if "pipeline_id" in form else None,
                kind_id=form.kind_id.data if "kind_id" in form else None,
                lost_reason_id=form.lost_reason_id.data,
                won_value=str(parsing.parse_number(form.won_value.data))
                if form.won_value.data
                else None,
                zone=job.meta.get("zone") or "UTC",
                actor_id=current_user.id,
            )
            job.save()
            if not jobs.start(job, apply=False):
                flash(_("This file is being checked or imported already."), "info")
            return redirect(url_for("imports.show", job_id=job.id), 303)
    status = 422 if request.method == "POST" else 200
    layout = job.layout
    return render_template(
        "imports/columns.html",
        job=job,
        layout=layout,
        form=form,
        columns=column_fields(form, layout),
        slashed=any(column.slashed for column in layout.columns),
        column_name=column_name,
        warnings=notes_warnings(job.kind, layout, chosen_in(form, layout)),
        active="settings",
    ), status


@bp.route("/<job_id>/columns/warnings", methods=["POST"])
@admin_required
def column_warnings(job_id):
    """The mapping page's warnings about notes left out, for the columns as now chosen."""
    job = get_job_or_404(job_id)
    if not htmx.is_partial():
        return redirect(url_for("imports.columns", job_id=job.id), 303)
    layout = job.layout
    form = mapping_form(job, Choices.load(), formdata=request.form)
    return htmx.fragment(
        render_template(
            "imports/_column_warnings.html",
            warnings=notes_warnings(job.kind, layout, chosen_in(form, layout)),
        )
    )


@bp.route("/<job_id>/sheet", methods=["POST"])
@admin_required
def sheet(job_id):
    """Read another sheet of an XLSX workbook."""
    job = get_job_or_404(job_id)
    layout = job.layout
    if job.status in jobs.RUNNING + (jobs.DONE,) or layout.format != "xlsx":
        abort(409)
    name = request.form.get("sheet")
    if name not in layout.sheets:
        abort(400)
    try:
        job.layout = inspect(job.upload, sheet=name)
    except FileProblem as problem:
        flash(problem.message, "error")
    else:
        job.meta.pop("settings", None)
        job.save()
    return redirect(url_for("imports.columns", job_id=job.id), 303)


def page_context(job, **extra):
    state = job.state
    report = job.report
    context = {
        "job": job,
        "state": state,
        "report": report,
        "apply_form": ApplyForm(),
        "questions": None,
        "active": "settings",
        "field_types": custom_fields.TYPE_LABELS,
    }
    if state["status"] == jobs.CHECKED and report:
        if report.has_questions:
            context["questions"] = questions_form(report, stages_in_order())
        context["lead_changes"] = [changes.LeadChange.from_dict(c) for c in report.lead_changes]
        context |= change_wording(job)
        settings = job.settings
        chosen = chosen_before(settings) if settings else {}
        context["warnings"] = notes_warnings(job.kind, job.layout, chosen)
    return context | extra


def change_wording(job):
    """What the list of changes to leads needs to word them: the fields' names, and values as
    the reader writes them."""
    report = job.report
    planned = report.new_fields if report else []
    return {
        "field_labels": {f.key: f.label for f in fields.fields_of(job.kind)}
        | {team_fields.field_value(f.key): f.label for f in custom_fields.all_fields()}
        | {team_fields.field_value(new["key"]): new["label"] for new in planned if new["key"]},
        "shown_value": shown_value,
    }


def shown_value(key, value):
    """A lead's detail, before or after the import, as the reader writes it."""
    if value is None or value == "":
        return "—"
    if key == "value":
        return money(Decimal(value))
    if key == "next_step_at":
        return when(datetime.fromisoformat(value))
    return value


@bp.route("/<job_id>")
@admin_required
def show(job_id):
    """Where the job is: its progress, the dry run's report, or what the import did. While it
    runs, the status polls itself."""
    job = get_job_or_404(job_id)
    if job.settings is None and job.status == jobs.NEW:
        return redirect(url_for("imports.columns", job_id=job.id))
    return htmx.render("imports/job.html", "imports/_status.html", **page_context(job))


@bp.route("/<job_id>/changes")
@admin_required
def lead_changes(job_id):
    """Everything the dry run found the import would do to each lead, a page at a time."""
    job = get_job_or_404(job_id)
    number = id_arg(request.args.get("page")) or 1
    found = changes.page(job.changes, number) if job.status == jobs.CHECKED else None
    if found is None:
        return redirect(url_for("imports.show", job_id=job.id), 303)
    listed, total = found
    if not total:
        return redirect(url_for("imports.show", job_id=job.id), 303)
    pages = -(-total // changes.PAGE)
    if number > pages:
        return redirect(url_for("imports.lead_changes", job_id=job.id, page=pages), 303)

    def page_url(n):
        return url_for("imports.lead_changes", job_id=job.id, page=n) if 1 <= n <= pages else None

    first = (number - 1) * changes.PAGE
    return render_template(
        "imports/changes.html",
        job=job,
        lead_changes=listed,
        first=first + 1,
        last=first + len(listed),
        total=total,
        previous_url=page_url(number - 1),
        next_url=page_url(number + 1),
        active="settings",
        **change_wording(job),
    )


@bp.route("/<job_id>/answers", methods=["POST"])
@admin_required
def answers(job_id):
    """The dry run's questions answered: check the file again with them."""
    job = get_job_or_404(job_id)
    report = job.report
    if job.status != jobs.CHECKED or report is None:
        return redirect(url_for("imports.show", job_id=job.id), 303)
    form = questions_form(report, stages_in_order(), formdata=request.form)
    valid = form.validate()
    if report.date_order_needed and not form.date_order.data:
        form.date_order.errors = [
            *form.date_order.errors,
            _("Say whether the day or the month comes first in these dates."),
        ]
        valid = False
    if not valid:
        return htmx.render(
            "imports/job.html", "imports/_status.html", 422, **page_context(job, questions=form)
        )
    settings = job.settings
    settings.statuses = settings.statuses | {key: field.data for key, field in form.statuses}
    if form.date_order.data:
        settings.date_order = form.date_order.data
    job.settings = settings
    job.save()
    if not jobs.start(job, apply=False):
        flash(_("This file is being checked or imported already."), "info")
    return htmx.redirect_to(url_for("imports.show", job_id=job.id))


@bp.route("/<job_id>/import", methods=["POST"])
@admin_required
def apply(job_id):
    """Import what the dry run showed, all of it in one transaction."""
    job = get_job_or_404(job_id)
    form = ApplyForm()
    if not form.validate_on_submit():
        abort(400)
    report = job.report
    if job.status != jobs.CHECKED or report is None:
        flash(_("Check the file first: the import follows its dry run."), "error")
        return htmx.redirect_to(url_for("imports.show", job_id=job.id))
    if report.has_questions or (report.failed and not form.skip_errors.data):
        context = page_context(job, apply_form=form)
        if report.has_questions:
            context["questions"].form_errors.append(_("Answer these questions first."))
        else:
            form.skip_errors.errors = [
                _(
                    "Some rows have errors: correct the file and upload it again, or tick the "
                    "box to skip them."
                )
            ]
        return htmx.render("imports/job.html", "imports/_status.html", 422, **context)
    settings = job.settings
    settings.skip_errors = bool(form.skip_errors.data)
    job.settings = settings
    job.save()
    if not jobs.start(job, apply=True):
        flash(_("This file is being checked or imported already."), "info")
    return htmx.redirect_to(url_for("imports.show", job_id=job.id))
