"""Form pieces shared by several areas."""

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from babel import dates
from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, IntegerField, SelectField, StringField, ValidationError
from wtforms.validators import InputRequired, Length, NumberRange, Optional, StopValidation

from crm import typed_dates
from crm.accounts import AccountError, password_problem, unknown_zone_message, update_account
from crm.args import FIRST_YEAR, LAST_YEAR
from crm.extensions import db
from crm.form_base import AppForm
from crm.formatting import short_time
from crm.funnel import NOTE_MAX, VALUE_MAX
from crm.i18n import user_locale
from crm.timezones import (
    known_zone,
    local_now,
    local_today,
    to_local,
    to_utc,
    zone_choices,
    zone_name_of,
)


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


class AccountForm(AppForm):
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


def save_account_form(form, user):
    """Save a sent account form to `user` (committed); False, with the refusal at its field,
    when the form or the account refuses it."""
    if not form.validate_on_submit():
        return False
    try:
        update_account(user, form.name.data, form.language.data, form.timezone.data)
    except AccountError as error:
        db.session.rollback()
        form[error.field].errors.append(str(error))
        return False
    db.session.commit()
    return True


def optional_id(value):
    """Select values to ids: "" means none chosen; anything not a number matches no choice."""
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class ActionForm(AppForm):
    """A button that changes something: only the CSRF token."""


# The funnel's name of a field, where a form calls it otherwise.
FORM_FIELDS = {"next_step_at": "next_step_when"}


def attach_error(form, field_name, message):
    """Show a refusal next to its field (`stage` finds `stage_id`), or above the form."""
    field_name = FORM_FIELDS.get(field_name, field_name)
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


class WholeNumberField(IntegerField):
    """A whole number that refuses digits past any number anybody means: WTForms' NumberRange
    turns the value into a float, and a 400-digit one overflows it (a 500, not a message)."""

    MAX_DIGITS = 15

    def process_formdata(self, valuelist):
        if valuelist and len(str(valuelist[0]).strip().lstrip("+-")) > self.MAX_DIGITS:
            self.data = None
            raise ValueError(_l("Not a valid integer value."))
        super().process_formdata(valuelist)


def finite_number(_form, field):
    """Refuse NaN and infinity, which Decimal parses but no amount can be."""
    if field.data is not None and not field.data.is_finite():
        # Rendering the value back would fail too, so it goes.
        field.data = None
        raise StopValidation(_l("Enter an amount of zero or more."))


# The next step, typed as a person says it ("завтра 10", "+3") or picked with one click

EXAMPLES = _l("For example: tomorrow 10, fri 15:30, +3, 12.12 14:00")
MISREADINGS = {
    typed_dates.Misreading.UNKNOWN: _l(
        "Not understood. Try: tomorrow 10, fri 15:30, +3 or 12.12 14:00."
    ),
    typed_dates.Misreading.PASSED: _l("That moment has passed: choose a later one."),
}
QUICK_DAYS = (
    (_l("Today"), 0),
    (_l("Tomorrow"), 1),
    (_l("In 3 days"), 3),
    (_l("In a week"), 7),
)
NEXT_MONDAY = _l("Next Monday")
KEEP = _l("Keep")


@dataclass(frozen=True, slots=True)
class QuickDay:
    """A button that fills in the next step: its name, the day it shows, the text it types,
    and whether that text is the field's now."""

    label: str
    day: str
    typed: str
    pressed: bool


def language():
    return str(user_locale())


def typed(moment):
    """A stored moment as the next step field shows it, in the user's zone and language."""
    return typed_dates.as_typed(to_local(moment), language())


def understood(text, planned=None):
    """The stored moment `text` stands for (the planned step, when it is shown unchanged), or
    a Misreading; None when nothing was typed."""
    text = (text or "").strip()
    if not text:
        return None
    if planned is not None and text == typed(planned):
        return planned
    reading = typed_dates.read(text, local_now())
    if isinstance(reading, typed_dates.Misreading):
        return reading
    return to_utc(reading.moment())


def preview(text, planned=None):
    """What the next step field understood, in words: the day and time, or why not."""
    moment = understood(text, planned)
    if moment is None:
        return str(EXAMPLES)
    if isinstance(moment, typed_dates.Misreading):
        return str(MISREADINGS[moment])
    return spelled_out(to_local(moment), language())


@lru_cache(maxsize=512)
def spelled_out(local_moment, locale):
    day = dates.format_date(local_moment.date(), "full", locale=locale)
    if local_moment.hour or local_moment.minute:
        return f"{day}, {short_time(local_moment.hour, local_moment.minute, locale)}"
    return day


@lru_cache(maxsize=512)
def short_day(day, locale):
    return dates.format_skeleton("MMMd", day, locale=locale)


class NextStepField(StringField):
    """When the next step is, as typed, read in the user's zone when the form is checked:
    `moment` is then the stored moment, or None when the field was left empty. `planned` is
    the step the form offered: sent back as shown, it stays exactly as planned, even if due."""

    planned = None
    moment = None

    def offer(self, planned, fill=True):
        """Offer the planned step `planned` (stored, or None); `fill` writes it in the field."""
        self.planned = planned
        if fill and planned is not None:
            self.data = typed(planned)

    def pre_validate(self, form):
        moment = understood(self.data, self.planned)
        if isinstance(moment, typed_dates.Misreading):
            self.moment = None
            raise StopValidation(MISREADINGS[moment])
        self.moment = moment

    def preview(self):
        return preview(self.data, self.planned)

    def quick_days(self):
        """The buttons that fill the field in one click: the planned step, if any, then today,
        tomorrow, in three days, in a week and next Monday."""
        locale, today = language(), local_today()
        current = (self.data or "").strip()
        buttons = []
        if self.planned is not None:
            text, local = typed(self.planned), to_local(self.planned)
            shown = short_day(local.date(), locale)
            if local.hour or local.minute:
                shown += f", {short_time(local.hour, local.minute, locale)}"
            buttons.append(QuickDay(str(KEEP), shown, text, current == text))
        days = [(label, today + timedelta(days=ahead)) for label, ahead in QUICK_DAYS]
        days.append((NEXT_MONDAY, typed_dates.next_weekday(today, 0)))
        for label, day in days:
            text = typed_dates.as_typed(day, locale)
            buttons.append(QuickDay(str(label), short_day(day, locale), text, current == text))
        return buttons


# The fields the lead forms and the log form share


class NextStepMixin:
    next_step_when = NextStepField(_l("Day and time"))
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
