"""The log form: one contact, the status after it and the next step, in one submit.

The lead page and the agenda's rows both log through it (and render `_log_form.html`), so a
contact is offered, checked and saved one way wherever it is logged.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from crm import funnel
from crm.extensions import db
from crm.form_base import AppForm
from crm.forms import NextStepMixin, OutcomeMixin, attach_error, optional_id, sensible_date
from crm.idempotency import new_key
from crm.models import CallStatus, StageKind, utcnow
from crm.telephony import calls
from crm.timezones import local_now, to_local, to_utc

NEXT_STEP_FIELDS = ("next_step_when", "next_step_note", "no_next_step")


class LogForm(NextStepMixin, OutcomeMixin, AppForm):
    kind_id = SelectField(_l("Kind"), coerce=optional_id, validate_choice=True)
    occurred_at = DateTimeLocalField(_l("When"), validators=[InputRequired(), sensible_date])
    # The time the form offered; sent back unchanged, it means "now" to the second.
    offered_time = HiddenField()
    # Made as the form is drawn, so a contact sent twice (a retry, a second tap) is saved once.
    idempotency_key = HiddenField(default=new_key)
    # The phone system's call this writes up: its contact is completed, not a second one made.
    call_id = HiddenField()
    body = TextAreaField(_l("What was said"), validators=[Optional(), Length(max=funnel.BODY_MAX)])
    # Radio buttons, not a list: the status is picked with one click.
    stage_id = RadioField(_l("Status after"), coerce=optional_id, validate_choice=True)
    no_next_step = BooleanField(_l("No next step"))
    # The due step this contact answers, said above the next step's fields.
    answers_step = None
    closing_stage_ids = frozenset()

    def validate(self, extra_validators=None):
        """Check the form; a contact that wins or loses the lead needs no next step, so what
        was typed for one is not held against it."""
        valid = super().validate(extra_validators)
        if not valid and self.stage_id.data in self.closing_stage_ids:
            for name in NEXT_STEP_FIELDS:
                self[name].errors = []
            valid = not any(field.errors for field in self)
        return valid


def fill_choices(form, choices, pipeline_id):
    """Give the form's lists their entries from `choices` (a `crm.lists.Choices`): the statuses
    are the stages of the lead's pipeline (another pipeline is a move of its own)."""
    form.kind_id.choices = {str(k.id): k.name for k in choices.kinds}
    stages = [stage for stage in choices.stages if stage.pipeline_id == pipeline_id]
    # The stage kind rides along so the page can show the lost and won fields when needed.
    form.stage_id.choices = [
        SelectChoice(str(s.id), s.name, render_kw={"data-kind": s.kind}) for s in stages
    ]
    form.closing_stage_ids = frozenset(s.id for s in stages if s.kind != StageKind.OPEN)
    form.lost_reason_id.choices = {"": "—"} | {str(r.id): r.name for r in choices.reasons}
    return form


def new_log_form(lead, choices, formdata=None):
    """The log form: a call, now, leaving the stage as it is. A next step still ahead is
    offered to keep; one already due is answered by this contact, so the form asks anew."""
    form = fill_choices(LogForm(formdata=formdata), choices, lead.stage.pipeline_id)
    step_ahead = lead.next_step_at is not None and lead.next_step_at > utcnow()
    form.next_step_when.offer(lead.next_step_at if step_ahead else None, fill=formdata is None)
    if not step_ahead:
        form.answers_step = lead.next_step_at
    if formdata is None:
        calls = [k for k in choices.kinds if k.code == "call"] or choices.kinds
        form.kind_id.data = calls[0].id if calls else None
        form.occurred_at.data = local_now().replace(second=0, microsecond=0)
        form.offered_time.data = form.occurred_at.data.isoformat()
        form.stage_id.data = lead.stage_id
        form.next_step_note.data = lead.next_step_note if step_ahead else None
    return form


def new_write_up_form(lead, call, choices):
    """The log form for a call the phone system logged: its kind and time, the rest to say."""
    form = new_log_form(lead, choices)
    form.kind_id.data = call.activity.kind_id
    form.occurred_at.data = to_local(call.activity.occurred_at).replace(second=0, microsecond=0)
    form.offered_time.data = form.occurred_at.data.isoformat()
    form.call_id.data = str(call.id)
    return form


def save_log(lead, form, choices, actor):
    """Log the contact the form describes and commit: the Logged, or None when the form or
    the funnel refused it, with the reason on the form."""
    if not form.validate():
        return None
    try:
        activity = log_from_form(lead, form, choices, actor)
    except funnel.FunnelError as error:
        db.session.rollback()
        attach_error(form, error.field, error.message)
        return None
    db.session.flush()
    # Read before the commit expires it.
    logged = Logged(activity.id, written_up=bool(form.call_id.data))
    db.session.commit()
    return logged


@dataclass(frozen=True)
class Logged:
    """What a saved log form made: a new contact, or a call's contact written up."""

    activity_id: int
    written_up: bool


def log_from_form(lead, form, choices, actor):
    # A ticked "No next step" wins over a day left in the field: the box is the explicit choice.
    no_next_step = form.no_next_step.data
    call = None
    if form.call_id.data:
        call = calls.owed_by_lead(lead, form.call_id.data)
    activity = (funnel.write_up if call else funnel.log_activity)(
        call.activity if call else lead,
        actor,
        choices.kind(form.kind_id.data),
        form.body.data,
        occurred_at=occurred_at(form),
        stage=choices.stage_by_id.get(form.stage_id.data),
        next_step_at=None if no_next_step else form.next_step_when.moment,
        next_step_note=form.next_step_note.data,
        no_next_step=no_next_step,
        lost_reason=choices.reason(form.lost_reason_id.data),
        lost_note=form.lost_note.data,
        value=form.value.data,
    )
    if call is not None:
        call.status = CallStatus.WRITTEN_UP
    return activity


def occurred_at(form):
    """When the contact happened: as typed, or exactly now if the offered time was left."""
    try:
        offered = datetime.fromisoformat(form.offered_time.data or "")
    except ValueError:
        offered = None
    if form.occurred_at.data == offered:
        # The service takes now; a call's write-up keeps the call's own moment.
        return None
    return to_utc(form.occurred_at.data)
