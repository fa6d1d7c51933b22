"""The administrators' log of every change: who changed what, when, from what to what."""

from flask import render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from crm import history
from crm.extensions import db
from crm.models import User
from crm.security import admin_required
from crm.settings import bp
from crm.settings.forms import AuditLogForm
from crm.timezones import day_bounds


def log_form():
    form = AuditLogForm(formdata=request.args)
    form.subject.choices = {"": _("Everything")} | {
        key: str(label) for key, label in history.SUBJECT_LABELS.items()
    }
    people = db.session.execute(select(User.id, User.name).order_by(User.name)).all()
    form.actor.choices = {"": _("Everyone")} | {str(p.id): p.name for p in people}
    return form


def log_filters(form):
    return history.Filters(
        subject=form.subject.data or "",
        actor_id=form.actor.data,
        start=day_bounds(form.date_from.data)[0] if form.date_from.data else None,
        end=day_bounds(form.date_to.data)[1] if form.date_to.data else None,
        lead_number=form.lead.data,
    )


@bp.route("/audit")
@admin_required
def audit_log():
    """Every recorded change, newest first, narrowed by what, who, when and lead."""
    form = log_form()
    valid = form.validate()
    lines, more = [], None
    if valid:
        before = history.read_before(request.args.get("before"))
        lines, more = history.log_page(log_filters(form), before)
    args = {k: v for k, v in request.args.items() if k != "before"}
    return render_template(
        "settings/audit.html",
        active="settings",
        form=form,
        lines=lines,
        more=more,
        args=args,
        lead=None,
        # Only administrators read the log, and they may undo a deletion.
        may_restore=True,
    ), (200 if valid else 422)
