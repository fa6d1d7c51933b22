"""The log form: one contact, the status after it and the next step, in one submit.

The lead page and the agenda's rows both log through it (and render `_log_form.html`), so a
contact is offered, checked and saved one way wherever it is logged.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from crm import funnel
from crm.extensions import db
from crm.forms import NextStepMixin, OutcomeMixin, attach_error, optional_id, sensible_date
from crm.timezones import combine, local_now, to_local, to_utc


class LogForm(NextStepMixin, OutcomeMixin, FlaskForm):
    kind_id = SelectField(_l("Kind"), coerce=optional_id, validate_choice=True)
    occurred_at = DateTimeLocalField(_l("When"), validators=[InputRequired(), sensible_date])
    # The time the form offered; sent back unchanged, it means "now" to the second.
    offered_time = HiddenField()
    body = TextAreaField(_l("What was said"), validators=[Optional(), Length(max=funnel.BODY_MAX)])
    stage_id = SelectField(_l("Status after"), coerce=optional_id, validate_choice=True)


def fill_choices(form, choices):
    """Give the form's lists their entries from `choices` (a `crm.lists.Choices`)."""
    form.kind_id.choices = {str(k.id): k.name for k in choices.kinds}
    # The stage kind rides along so the page can show the lost and won fields when needed.
    form.stage_id.choices = [
        SelectChoice(str(s.id), s.name, render_kw={"data-kind": s.kind}) for s in choices.stages
    ]
    form.lost_reason_id.choices = {"": "—"} | {str(r.id): r.name for r in choices.reasons}
    return form


def new_log_form(lead, choices, formdata=None):
    """The log form: a call, now, leaving the stage as it is."""
    form = fill_choices(LogForm(formdata=formdata), choices)
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


def save_log(lead, form, choices, actor):
    """Log the contact the form describes and commit; False when the form or the funnel
    refused it, with the reason on the form."""
    if not form.validate():
        return False
    try:
        log_from_form(lead, form, choices, actor)
    except funnel.FunnelError as error:
        db.session.rollback()
        attach_error(form, error.field, error.message)
        return False
    db.session.commit()
    return True


def log_from_form(lead, form, choices, actor):
    return funnel.log_activity(
        lead,
        actor,
        choices.kind(form.kind_id.data),
        form.body.data,
        occurred_at=occurred_at(form),
        stage=choices.stage_by_id.get(form.stage_id.data),
        # Left empty, the lead has no next step: the agenda then asks for one.
        next_step_at=combine(form.next_step_date.data, form.next_step_time.data),
        next_step_note=form.next_step_note.data,
        lost_reason=choices.reason(form.lost_reason_id.data),
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
