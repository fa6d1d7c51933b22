"""Forms for leads and the contact log. Choices that come from the database are set by views."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    DecimalField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
)

from crm.forms import optional_id
from crm.funnel import BODY_MAX, NOTE_MAX, TITLE_MAX, VALUE_MAX
from crm.timezones import combine


def finite_number(_form, field):
    """Refuse NaN and infinity, which Decimal parses but no amount can be."""
    if field.data is not None and not field.data.is_finite():
        # Rendering the value back would fail too, so it goes.
        field.data = None
        raise StopValidation(_l("Enter an amount of zero or more."))


def sensible_date(_form, field):
    """Dates a sales team can mean: this also keeps time zone arithmetic within range."""
    if field.data is not None and not 1900 <= field.data.year <= 2999:
        raise StopValidation(_l("Enter a date between 1900 and 2999."))


class NextStepMixin:
    next_step_date = DateField(_l("Next step"), validators=[Optional(), sensible_date])
    next_step_time = TimeField(_l("Time"), validators=[Optional()])
    next_step_note = StringField(_l("What to do"), validators=[Optional(), Length(max=NOTE_MAX)])


class LeadDetailsForm(NextStepMixin, FlaskForm):
    """What identifies a lead; editable on the lead page."""

    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=TITLE_MAX)])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=50)])
    email = EmailField(_l("Email"), validators=[Optional(), Email(), Length(max=254)])
    source = StringField(_l("Source"), validators=[Optional(), Length(max=80)])
    value = DecimalField(
        _l("Value"),
        places=2,
        validators=[Optional(), finite_number, NumberRange(min=0, max=VALUE_MAX)],
    )
    owner_id = SelectField(_l("Owner"), coerce=optional_id, validate_choice=True)


class LeadForm(LeadDetailsForm):
    """A new lead: its details and the stage it enters the funnel at."""

    stage_id = SelectField(_l("Stage"), coerce=optional_id, validate_choice=True)


class OutcomeMixin:
    """What closing a lead asks for: why it was lost, or the final value of a won deal."""

    lost_reason_id = SelectField(_l("Why lost"), coerce=optional_id, validate_choice=True)
    lost_note = StringField(_l("Details"), validators=[Optional(), Length(max=NOTE_MAX)])
    value = DecimalField(
        _l("Final value"),
        places=2,
        validators=[Optional(), finite_number, NumberRange(min=0, max=VALUE_MAX)],
    )


class LogForm(NextStepMixin, OutcomeMixin, FlaskForm):
    kind_id = SelectField(_l("Kind"), coerce=optional_id, validate_choice=True)
    occurred_at = DateTimeLocalField(_l("When"), validators=[InputRequired(), sensible_date])
    # The time the form offered; sent back unchanged, it means "now" to the second.
    offered_time = HiddenField()
    body = TextAreaField(_l("What was said"), validators=[Optional(), Length(max=BODY_MAX)])
    stage_id = SelectField(_l("Status after"), coerce=optional_id, validate_choice=True)


def lead_details(form):
    """The lead's details as the funnel service takes them, from a lead form."""
    return {
        "title": form.title.data,
        "contact_name": form.contact_name.data,
        "phone": form.phone.data,
        "email": form.email.data,
        "source": form.source.data,
        "value": form.value.data,
        "owner_id": form.owner_id.data,
        "next_step_at": combine(form.next_step_date.data, form.next_step_time.data),
        "next_step_note": form.next_step_note.data,
    }


def attach_error(form, field_name, message):
    """Show a refusal next to its field (`stage` finds `stage_id`), or above the form."""
    name = field_name if field_name in form else f"{field_name}_id"
    if field_name and name in form:
        form[name].errors = [*form[name].errors, message]
    else:
        form.form_errors.append(message)
