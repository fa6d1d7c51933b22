"""A lead's history of changes, and undoing a deletion: every edit stays on record."""

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import access, funnel, history, htmx
from crm.access import lead_or_404
from crm.extensions import db
from crm.leads import bp
from crm.models import Activity
from crm.security import admin_required


@bp.route("/<int:number>/history")
@login_required
def history_of(number):
    """Who changed what on this lead and its activities, newest first."""
    lead = lead_or_404(number)
    lines, more = history.lead_history(lead, history.read_before(request.args.get("before")))
    return htmx.render(
        "leads/history.html",
        "leads/_history.html",
        title=_("History of #%(number)d", number=lead.number),
        active="leads",
        lead=lead,
        lines=lines,
        more=more,
        may_restore=access.may_restore_activities(current_user),
    )


@bp.route("/<int:number>/activities/<int:activity_id>/restore", methods=["POST"])
@admin_required
def restore_activity(number, activity_id):
    """Put a deleted activity back on the timeline."""
    lead = lead_or_404(number)
    activity = db.session.get(Activity, activity_id)
    if activity is None or activity.lead_id != lead.id or activity.deleted_at is None:
        abort(404)
    funnel.restore_activity(activity, current_user)
    db.session.commit()
    flash(_("The activity is back on the timeline."), "success")
    return htmx.redirect_to(url_for("leads.show", number=lead.number))
