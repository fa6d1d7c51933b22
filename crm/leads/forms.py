"""Forms for leads. Choices that come from the database are set by views."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    EmailField,
    SelectField,
    StringField,
)
from wtforms.validators import (
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from crm.forms import NextStepMixin, finite_number, optional_id
from crm.funnel import TITLE_MAX, VALUE_MAX


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
        "next_step_at": form.next_step_when.moment,
        "next_step_note": form.next_step_note.data,
    }
