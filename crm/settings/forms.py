from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    ColorField,
    DateField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
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

from crm import api_tokens, custom_fields, roles
from crm.access import ColleaguesLeads
from crm.args import MAX_ID
from crm.form_base import AppForm
from crm.forms import (
    BAD_DATE,
    LANGUAGE_CHOICES,
    PASSWORDS_DIFFER,
    WholeNumberField,
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
from crm.pipelines import NAME_MAX as PIPELINE_NAME_MAX


class NewUserForm(AppForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[InputRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Role"), choices=roles.role_names, default=Role.SALESPERSON.value)
    language = SelectField(_l("Interface language"), choices=LANGUAGE_CHOICES)
    timezone = time_zone_field(_l("Time zone"))
    password = PasswordField(_l("Password"), validators=[InputRequired(), strong_password])


class ResetPasswordForm(AppForm):
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


class StageForm(AppForm):
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
    stuck_after_days = WholeNumberField(
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


class MoveForm(AppForm):
    """The "Move up" and "Move down" buttons."""

    direction = SelectField(choices={"up": "up", "down": "down"})


class SwitchForm(AppForm):
    """The "Switch off" and "Switch on" buttons."""

    active = SelectField(choices={"on": "on", "off": "off"})


class RemoveStageForm(AppForm):
    """Where the leads of a stage being removed go, and why when that stage is a lost one."""

    target_stage_id = SelectField(_l("Move its leads to"), coerce=optional_id)
    lost_reason_id = SelectField(_l("Why lost"), coerce=optional_id)
    lost_note = StringField(
        _l("Details about the loss"), filters=[strip], validators=[Optional(), Length(max=500)]
    )


class PipelineForm(AppForm):
    """A pipeline's name, to add one or rename it."""

    name = StringField(
        _l("Pipeline name"),
        filters=[strip],
        validators=[DataRequired(), Length(max=PIPELINE_NAME_MAX)],
    )


class ArchivePipelineForm(AppForm):
    """Where the open leads of a pipeline being archived go."""

    target_stage_id = SelectField(_l("Move its open leads to"), coerce=optional_id)


class NameForm(AppForm):
    """One entry of the activity kinds or the lost reasons: its name alone."""

    name = StringField(_l("Name"), filters=[strip], validators=[DataRequired()])

    def __init__(self, limit, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name.validators = [DataRequired(), Length(max=limit)]


class GeneralForm(AppForm):
    """Settings → General: every instance-wide setting, saved at once."""

    currency = StringField(
        _l("Currency"),
        filters=[strip],
        validators=[Optional(), Length(max=CURRENCY_MAX)],
        render_kw={"maxlength": CURRENCY_MAX, "autocomplete": "off"},
    )
    quiet_after_days = WholeNumberField(
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
    pass_leads_on = BooleanField(_l("Salespeople may pass their leads on to a colleague"))
    warn_of_hidden_duplicates = BooleanField(
        _l("Warn of a colleague's hidden lead when a new lead looks like it")
    )
    language = SelectField(_l("The team's language"), choices=LANGUAGE_CHOICES)
    timezone = time_zone_field(_l("The team's time zone"))
    two_factor_required = BooleanField(
        _l("Require two-step sign-in for administrators and managers")
    )


class AuditLogForm(AppForm):
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
    lead = WholeNumberField(
        _l("Lead number"),
        validators=[Optional(), NumberRange(min=1, max=MAX_ID)],
        render_kw={"min": 1, "inputmode": "numeric"},
    )


class ApiTokenForm(AppForm):
    """A personal API token's name, on the user's Settings page."""

    name = StringField(
        _l("Token name"),
        filters=[strip],
        validators=[DataRequired(), Length(max=api_tokens.NAME_MAX)],
        render_kw={"maxlength": api_tokens.NAME_MAX, "autocomplete": "off"},
    )


# Settings → Fields. Lengths and the rest are checked by the definitions' service
# (crm.custom_fields), which says what is wrong; the forms only carry what was typed.


def field_type_choices():
    return {type_.value: str(label) for type_, label in custom_fields.TYPE_LABELS.items()}


class FieldFlagsForm(AppForm):
    """A field's name, help text and flags: what can change without touching its values."""

    label = StringField(
        _l("Field name"),
        filters=[strip],
        render_kw={"maxlength": custom_fields.LABEL_MAX, "autocomplete": "off"},
    )
    help_text = TextAreaField(
        _l("Help text"),
        filters=[strip],
        render_kw={"maxlength": custom_fields.HELP_MAX, "rows": 2},
    )
    required = BooleanField(_l("Required: a new lead cannot be saved without it"))
    in_list = BooleanField(_l("Offered as a column of the lead list"))
    on_card = BooleanField(_l("On the cards of the board"))
    on_new_form = BooleanField(_l("On the new-lead form"), default=True)
    filterable = BooleanField(_l("Filterable: the list filters and sorts by it"))
    identifies_client = BooleanField(_l("Identifies the client"))

    def flags(self):
        return {name: self[name].data for name in custom_fields.FLAGS}


class NewFieldForm(FieldFlagsForm):
    """A new field: its type, and for the choice types the first choices."""

    type = SelectField(_l("Type"), choices=field_type_choices, default="text")
    options = TextAreaField(_l("Choices"), filters=[strip], render_kw={"rows": 4})

    def option_labels(self):
        lines = (self.options.data or "").splitlines()
        return [line.strip() for line in lines if line.strip()]


class FieldTypeForm(AppForm):
    """A field's new type; a dry run comes first, then the change itself."""

    class Meta:
        # The dry run is a GET: a link can carry the type looked at.
        csrf = False

    type = SelectField(_l("New type"), choices=field_type_choices)


class ConvertForm(AppForm):
    """Confirming a type change: the values that do not fit are cleared only if said so."""

    type = SelectField(choices=field_type_choices)
    clear_misfits = BooleanField(_l("Clear the values that do not fit"))


# Named, so that a choice's colour can be picked and read out without seeing it; any colour
# can carry a readable label (crm.colours finds the shade for it).
OPTION_COLOURS = {
    "#64748b": _l("Grey"),
    "#dc2626": _l("Red"),
    "#ea580c": _l("Orange"),
    "#eab308": _l("Yellow"),
    "#16a34a": _l("Green"),
    "#0d9488": _l("Teal"),
    "#2563eb": _l("Blue"),
    "#7c3aed": _l("Purple"),
    "#db2777": _l("Pink"),
    "#92400e": _l("Brown"),
}


def option_colour_choices(current=None):
    """No colour, the palette, and a colour set elsewhere (the API, an import) kept as is."""
    choices = {"": _("No colour")} | {code: str(name) for code, name in OPTION_COLOURS.items()}
    if current and current not in choices:
        choices[current] = current
    return choices


class OptionForm(AppForm):
    """A choice of a choice field: its name and colour."""

    label = StringField(
        _l("Name of the choice"),
        filters=[strip],
        render_kw={"maxlength": custom_fields.LABEL_MAX, "autocomplete": "off"},
    )
    colour = SelectField(_l("Colour"), choices=option_colour_choices, default="")

    def __init__(self, *args, current_colour=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.colour.choices = option_colour_choices(current_colour)
