"""Form pieces shared by several areas."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, SelectField, StringField, TimeField, ValidationError
from wtforms.validators import InputRequired, Length, NumberRange, Optional, StopValidation

from crm.accounts import password_problem, unknown_zone_message
from crm.args import FIRST_YEAR, LAST_YEAR
from crm.funnel import NOTE_MAX, VALUE_MAX
from crm.i18n import user_locale
from crm.timezones import known_zone, zone_choices, zone_name_of


def strong_password(_form, field):
    """Refuse short and common passwords with the reason."""
    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


LANGUAGE_CHOICES = {"en": "English", "ru": "Русский"}
PASSWORDS_DIFFER = _l("The two passwords differ.")


def known_time_zone(_form, field):
    """Any zone of the zone database passes, spelt as it spells it; the list offers most."""
    zone = known_zone(field.data)
    if zone is None:
        raise StopValidation(unknown_zone_message())
    field.data = zone


def time_zone_field(label):
    """A pick of time zones: give it its choices with `offer_zones` once the form is made."""
    return SelectField(label, validators=[InputRequired(), known_time_zone], validate_choice=False)


def offer_zones(field):
    """The zones in the reader's language, and the field's own value if the list lacks it."""
    field.choices = zone_choices(user_locale(), keep=field.data)


class AccountForm(FlaskForm):
    """One's own name, language and zone (My account); an administrator's edit of them."""

    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    language = SelectField(_l("Interface language"), choices=LANGUAGE_CHOICES)
    timezone = time_zone_field(_l("Time zone"))


def account_form(user):
    """The form filled with what `user` has, or with what was sent; a person without a zone of
    their own sees the one their days are counted in."""
    data = {"name": user.name, "language": user.locale, "timezone": zone_name_of(user)}
    form = AccountForm(data=data)
    offer_zones(form.timezone)
    return form


def optional_id(value):
    """Select values to ids: "" means none chosen; anything not a number matches no choice."""
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


def attach_error(form, field_name, message):
    """Show a refusal next to its field (`stage` finds `stage_id`), or above the form."""
    name = field_name if field_name in form else f"{field_name}_id"
    if field_name and name in form:
        form[name].errors = [*form[name].errors, message]
    else:
        form.form_errors.append(message)


# Dates and amounts

BAD_DATE = _l("Enter a date as year-month-day, for example 2026-03-07.")


def plausible_year(form, field):
    """Dates outside these years are typos, and would overflow date arithmetic near the ends."""
    if field.data is not None and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(
            _l("Enter a date between %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR)
        )


def sensible_date(_form, field):
    """Dates a sales team can mean: this also keeps time zone arithmetic within range."""
    if field.data is not None and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise StopValidation(_l("Enter a date between 1900 and 2999."))


def finite_number(_form, field):
    """Refuse NaN and infinity, which Decimal parses but no amount can be."""
    if field.data is not None and not field.data.is_finite():
        # Rendering the value back would fail too, so it goes.
        field.data = None
        raise StopValidation(_l("Enter an amount of zero or more."))


# The fields the lead forms, the log form and the board's move dialog share


class NextStepMixin:
    next_step_date = DateField(_l("Next step"), validators=[Optional(), sensible_date])
    next_step_time = TimeField(_l("Time"), validators=[Optional()])
    next_step_note = StringField(_l("What to do"), validators=[Optional(), Length(max=NOTE_MAX)])


class OutcomeMixin:
    """What closing a lead asks for: why it was lost, or the final value of a won deal."""

    lost_reason_id = SelectField(_l("Why lost"), coerce=optional_id, validate_choice=True)
    lost_note = StringField(_l("Details"), validators=[Optional(), Length(max=NOTE_MAX)])
    value = DecimalField(
        _l("Final value"),
        places=2,
        validators=[Optional(), finite_number, NumberRange(min=0, max=VALUE_MAX)],
    )
