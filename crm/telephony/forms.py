"""The form administrators set a phone system's connection up with."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from crm.form_base import AppForm
from crm.models import PhoneProvider

NAME_MAX = 80
SECRET_MAX = 200
EXTENSION_MAX = 50
EXTENSIONS_MAX = 500


def plain(value):
    # PostgreSQL cannot store NUL, and nobody types it.
    return value.replace("\x00", "").strip() if isinstance(value, str) else value


def provider_choices():
    return {
        PhoneProvider.GENERIC.value: _(
            "Any other (the generic event: Asterisk, FreePBX, a script)"
        ),
        PhoneProvider.ZADARMA.value: "Zadarma",
        PhoneProvider.MANGO.value: "Mango Office",
        PhoneProvider.SIPUNI.value: "Sipuni",
    }


class ConnectionForm(AppForm):
    """A connection's settings; `people` ({email: user id}) is set by the view."""

    name = StringField(
        _l("Name"),
        filters=[plain],
        validators=[DataRequired(), Length(max=NAME_MAX)],
        render_kw={"maxlength": NAME_MAX},
    )
    provider = SelectField(_l("Phone system"), choices=provider_choices, validate_choice=True)
    secret = StringField(
        _l("Secret"),
        filters=[plain],
        validators=[Optional(), Length(max=SECRET_MAX)],
        render_kw={"maxlength": SECRET_MAX, "autocomplete": "off", "spellcheck": "false"},
    )
    extensions = TextAreaField(
        _l("Extensions and numbers"), filters=[plain], render_kw={"rows": 6, "spellcheck": "false"}
    )
    people = {}
    mapping = {}

    def validate_secret(self, field):
        """Sipuni signs nothing: a secret would only look like protection."""
        if field.data and self.provider.data == PhoneProvider.SIPUNI:
            raise ValidationError(
                _l("Sipuni signs nothing: leave the secret empty, the address is the key.")
            )

    def validate_extensions(self, field):
        """One "extension email" a line; the mapping read goes to `self.mapping`."""
        mapping = {}
        lines = [line.strip() for line in (field.data or "").splitlines() if line.strip()]
        if len(lines) > EXTENSIONS_MAX:
            raise ValidationError(_l("List at most %(n)d extensions.", n=EXTENSIONS_MAX))
        for line in lines:
            extension, _space, email = line.replace("=", " ").rpartition(" ")
            extension, email = extension.strip(), email.strip().lower()
            user_id = self.people.get(email)
            if not extension or user_id is None or len(extension) > EXTENSION_MAX:
                # Not lazy: a lazy string counts as safe markup, and this carries what was typed.
                raise ValidationError(
                    _(
                        "“%(line)s” is not an extension followed by a team member's email.",
                        line=line[:100],
                    )
                )
            mapping[extension] = user_id
        self.mapping = mapping


def extensions_text(connection, emails):
    """The connection's mapping as the form shows it: "extension email" a line."""
    return "\n".join(
        f"{extension} {emails[user_id]}"
        for extension, user_id in (connection.extensions or {}).items()
        if user_id in emails
    )
