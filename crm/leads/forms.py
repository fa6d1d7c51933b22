"""Forms for leads. Choices that come from the database are set by views."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from crm.form_base import AppForm
from crm.forms import NextStepMixin, finite_number, optional_id
from crm.funnel import PEOPLE_MAX, TITLE_MAX, VALUE_MAX
from crm.idempotency import new_key


class LeadDetailsForm(NextStepMixin, AppForm):
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
    # Made as the form is drawn, so a lead sent twice (a retry, a second tap) is entered once.
    idempotency_key = HiddenField(default=new_key)


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


class PersonForm(Form):
    """One of the people at the client; phones and emails one a line."""

    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=120)])
    phones = TextAreaField(_l("Phones, one a line"), validators=[Optional(), Length(max=300)])
    emails = TextAreaField(_l("Emails, one a line"), validators=[Optional(), Length(max=1300)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    remove = BooleanField(_l("Remove this person"))


class PeopleForm(AppForm):
    """The lead's people, the main contact first, and a blank one to add someone."""

    people = FieldList(FormField(PersonForm), min_entries=1, max_entries=PEOPLE_MAX + 1)
    main = SelectField(_l("Main contact"), coerce=int, validate_choice=False, default=0)


def people_of(form):
    """The people as the funnel service takes them, the main contact first, those marked for
    removal left out; and for each, the index of its entry in the form."""
    entries = list(form.people)
    main = form.main.data if isinstance(form.main.data, int) else 0
    main = main if 0 <= main < len(entries) else 0
    order = [main, *(i for i in range(len(entries)) if i != main)]
    kept = [i for i in order if not entries[i].form.remove.data]
    return [person_of(entries[i].form) for i in kept], kept


def person_of(entry):
    return {
        "name": entry.name.data,
        "job_title": entry.job_title.data,
        "phones": (entry.phones.data or "").splitlines(),
        "emails": (entry.emails.data or "").splitlines(),
        "note": entry.note.data,
    }
