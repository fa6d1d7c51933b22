from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    ColorField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from crm import api_tokens, roles
from crm.access import ColleaguesLeads
from crm.args import MAX_ID
from crm.forms import (
    BAD_DATE,
    LANGUAGE_CHOICES,
    PASSWORDS_DIFFER,
    optional_id,
    plausible_year,
    strong_password,
    time_zone_field,
)
from crm.lists import (
    COLOUR,
    CURRENCY_MAX,
    QUIET_MAX,
    STAGE_NAME_MAX,
    STUCK_DAYS_MAX,
)
from crm.models import Role, StageKind


class NewUserForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[InputRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Role"), choices=roles.role_names, default=Role.SALESPERSON.value)
    language = SelectField(_l("Interface language"), choices=LANGUAGE_CHOICES)
    timezone = time_zone_field(_l("Time zone"))
    password = PasswordField(_l("Password"), validators=[InputRequired(), strong_password])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[InputRequired(), strong_password])
    password_again = PasswordField(
        _l("New password again"),
        validators=[InputRequired(), EqualTo("password", message=PASSWORDS_DIFFER)],
    )


def strip(text):
    # PostgreSQL cannot store NUL in text, and nobody types it.
    return text.replace("\x00", "").strip() if isinstance(text, str) else text


def stage_kind_choices():
    return {
        StageKind.OPEN.value: _("Open: in progress"),
        StageKind.WON.value: _("Won"),
        StageKind.LOST.value: _("Lost"),
    }


class StageForm(FlaskForm):
    name = StringField(
        _l("Name"), filters=[strip], validators=[DataRequired(), Length(max=STAGE_NAME_MAX)]
    )
    colour = ColorField(
        _l("Colour"),
        default="#64748b",
        validators=[
            DataRequired(),
            Regexp(COLOUR.pattern, message=_l("Choose a colour like #1d4ed8.")),
        ],
    )
    kind = SelectField(_l("Kind"), choices=stage_kind_choices, default=StageKind.OPEN.value)
    stuck_after_days = IntegerField(
        _l("Stuck after, days"),
        validators=[
            Optional(),
            NumberRange(
                min=1,
                max=STUCK_DAYS_MAX,
                message=_l("Enter a whole number of days from 1 to %(max)d, or leave it empty."),
            ),
        ],
        render_kw={"min": 1, "max": STUCK_DAYS_MAX, "inputmode": "numeric"},
    )


class MoveForm(FlaskForm):
    """The "Move up" and "Move down" buttons."""

    direction = SelectField(choices={"up": "up", "down": "down"})


class SwitchForm(FlaskForm):
    """The "Switch off" and "Switch on" buttons."""

    active = SelectField(choices={"on": "on", "off": "off"})


class RemoveStageForm(FlaskForm):
    """Where the leads of a stage being removed go, and why when that stage is a lost one."""

    target_stage_id = SelectField(_l("Move its leads to"), coerce=optional_id)
    lost_reason_id = SelectField(_l("Why lost"), coerce=optional_id)
    lost_note = StringField(
        _l("Details about the loss"), filters=[strip], validators=[Optional(), Length(max=500)]
    )


class NameForm(FlaskForm):
    """One entry of the activity kinds or the lost reasons: its name alone."""

    name = StringField(_l("Name"), filters=[strip], validators=[DataRequired()])

    def __init__(self, limit, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name.validators = [DataRequired(), Length(max=limit)]


class GeneralForm(FlaskForm):
    """Settings → General: every instance-wide setting, saved at once."""

    currency = StringField(
        _l("Currency"),
        filters=[strip],
        validators=[Optional(), Length(max=CURRENCY_MAX)],
        render_kw={"maxlength": CURRENCY_MAX, "autocomplete": "off"},
    )
    quiet_after_days = IntegerField(
        _l("Gone quiet after, days"),
        validators=[InputRequired(), NumberRange(min=1, max=QUIET_MAX)],
        render_kw={"min": 1, "max": QUIET_MAX},
    )
    colleagues_leads = RadioField(
        _l("Salespeople see their colleagues' leads"),
        choices=[
            SelectChoice(ColleaguesLeads.READ_ONLY.value, _l("Yes, read-only")),
            SelectChoice(
                ColleaguesLeads.HIDDEN.value, _l("No: only their own and unclaimed leads")
            ),
        ],
        validators=[InputRequired()],
    )
    language = SelectField(_l("The team's language"), choices=LANGUAGE_CHOICES)
    timezone = time_zone_field(_l("The team's time zone"))


class AuditLogForm(FlaskForm):
    """The log's filters, read from the query string; choices are set by the view."""

    class Meta:
        # Filters only read: a link must be able to carry them.
        csrf = False

    subject = SelectField(_l("What"), default="", validate_choice=True)
    actor = SelectField(_l("Who"), coerce=optional_id, validate_choice=True)
    date_from = DateField(
        _l("From"),
        name="from",
        validators=[Optional(), plausible_year],
        invalid_value_message=BAD_DATE,
    )
    date_to = DateField(
        _l("To"), name="to", validators=[Optional(), plausible_year], invalid_value_message=BAD_DATE
    )
    lead = IntegerField(
        _l("Lead number"),
        validators=[Optional(), NumberRange(min=1, max=MAX_ID)],
        render_kw={"min": 1, "inputmode": "numeric"},
    )


class ApiTokenForm(FlaskForm):
    """A personal API token's name, on the user's Settings page."""

    name = StringField(
        _l("Token name"),
        filters=[strip],
        validators=[DataRequired(), Length(max=api_tokens.NAME_MAX)],
        render_kw={"maxlength": api_tokens.NAME_MAX, "autocomplete": "off"},
    )
