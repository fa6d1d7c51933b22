"""The agenda's calls from the phone system: those waiting for what was said (one click opens
the log form filled with the call, and saving completes the contact the call became) and those
waiting for their lead (attach it to one, or make one of its number)."""

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from crm import access, funnel, htmx, lists
from crm.agenda import bp
from crm.agenda.views import AgendaView, log_form, refused, sections
from crm.args import MAX_ID, id_arg
from crm.extensions import db
from crm.log_form import new_write_up_form
from crm.models import Call, CallStatus, Lead
from crm.telephony import calls


def call_or_404(call_id):
    """The call, if the person may see it: one on a lead they may see; one waiting for its
    lead if it is theirs or nobody's, or for a manager any."""
    call = db.session.get(Call, call_id) if 0 < call_id <= MAX_ID else None
    if call is None:
        abort(404)
    if call.lead is not None:
        access.visible_or_404(call.lead)
    elif call.user_id not in (None, current_user.id) and not access.manages_the_team(current_user):
        abort(404)
    return call


@bp.route("/calls/<int:call_id>/write-up")
@login_required
def write_up(call_id):
    """The log form filled with the call: kind and time, the rest for the salesperson."""
    call = call_or_404(call_id)
    if call.status != CallStatus.TO_WRITE_UP or call.lead is None:
        abort(404)
    lead = call.lead
    if not access.may_change(lead, current_user):
        abort(403)
    view = AgendaView(request.args, current_user)
    choices = lists.Choices()
    form = new_write_up_form(lead, call, choices)
    if htmx.is_htmx():
        return log_form(lead, view, form, choices)
    return render_template(
        "agenda/write_up.html",
        title=_("Write up the call"),
        active="agenda",
        lead=lead,
        call=call,
        log_form=form,
        choices=choices,
    )


@bp.route("/calls/<int:call_id>/attach", methods=["POST"])
@login_required
def attach_call(call_id):
    """Attach a call waiting for its lead to the lead numbered as typed or picked."""
    call = call_or_404(call_id)
    view = AgendaView(request.args, current_user)
    number = id_arg(request.form.get("number", "").strip().lstrip("#"))
    lead = db.session.scalar(select(Lead).where(Lead.number == number)) if number else None
    if lead is None or not access.may_see(lead, current_user):
        return refused(view, _("There is no lead with that number."))
    try:
        calls.attach(call, lead, current_user)
    except (calls.CallError, funnel.FunnelError) as error:
        db.session.rollback()
        status = 403 if isinstance(error, funnel.NotAllowed) else 422
        return refused(view, error.message, status)
    db.session.commit()
    return sections(view, _("The call is on #%(number)d.", number=lead.number))


@bp.route("/calls/<int:call_id>/new-lead", methods=["POST"])
@login_required
def call_to_new_lead(call_id):
    """Make a lead of the number of a call waiting for its lead, and attach the call to it."""
    call = call_or_404(call_id)
    view = AgendaView(request.args, current_user)
    try:
        lead = calls.attach_to_new_lead(call, current_user)
    except (calls.CallError, funnel.FunnelError) as error:
        db.session.rollback()
        return refused(view, error.message)
    db.session.commit()
    return sections(view, _("Lead #%(number)d made for the call.", number=lead.number))
