"""The form administrators set an intake form up with."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from crm.form_base import AppForm
from crm.forms import optional_id
from crm.intake import origins
from crm.models import IntakeReply

NAME_MAX = 80
SOURCE_MAX = 80
REDIRECT_MAX = 500
ORIGINS_MAX = 50


def plain(value):
    # PostgreSQL cannot store NUL, and nobody types it.
    return value.replace("\x00", "").strip() if isinstance(value, str) else value


def reply_choices():
    # Plain strings: WTForms takes a dict of value to label only when labels are `str`.
    return {
        IntakeReply.PAGE.value: _("A thank-you page"),
        IntakeReply.REDIRECT.value: _("A page of your site (a redirect)"),
        IntakeReply.JSON.value: _("JSON, for a form sent by a script"),
    }


class IntakeSettingsForm(AppForm):
    """An intake form's settings; the view sets the owner choices as {value: label}."""

    name = StringField(
        _l("Name"),
        filters=[plain],
        validators=[DataRequired(), Length(max=NAME_MAX)],
        render_kw={"maxlength": NAME_MAX},
    )
    source = StringField(
        _l("Source of its leads"),
        filters=[plain],
        validators=[Optional(), Length(max=SOURCE_MAX)],
        render_kw={"maxlength": SOURCE_MAX},
    )
    owner_id = SelectField(_l("Owner of new leads"), coerce=optional_id, validate_choice=True)
    start_stage_id = SelectField(_l("New leads start in"), coerce=optional_id, validate_choice=True)
    allowed_origins = TextAreaField(
        _l("Sites it may be sent from"), filters=[plain], render_kw={"rows": 3}
    )
    reply = RadioField(
        _l("After sending, the visitor sees"), choices=reply_choices, default=IntakeReply.PAGE.value
    )
    redirect_url = StringField(
        _l("Address of that page"),
        filters=[plain],
        validators=[Length(max=REDIRECT_MAX)],
        render_kw={"maxlength": REDIRECT_MAX, "inputmode": "url"},
    )
    active = BooleanField(_l("Accepting requests"), default=True)

    def validate_allowed_origins(self, field):
        lines = [line.strip() for line in (field.data or "").splitlines() if line.strip()]
        if len(lines) > ORIGINS_MAX:
            raise ValidationError(_l("List at most %(n)d sites.", n=ORIGINS_MAX))
        found = []
        for line in lines:
            origin = origins.normalise(line)
            if origin is None:
                # Not lazy: a lazy string counts as safe markup in a template, and this one
                # carries what was typed.
                raise ValidationError(
                    _(
                        "“%(line)s” is not a site address like https://example.com.",
                        line=line[:100],
                    )
                )
            if origin not in found:
                found.append(origin)
        field.data = "\n".join(found)

    def validate_redirect_url(self, field):
        address = field.data or ""
        if self.reply.data != IntakeReply.REDIRECT:
            return
        if not address:
            raise ValidationError(_l("Give the address of the page to send visitors to."))
        if not address.startswith(("https://", "http://")) or any(c.isspace() for c in address):
            raise ValidationError(_l("Enter a full address, starting with https://."))
