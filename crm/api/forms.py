"""The form that makes a personal API token, on the user's Settings page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from crm.api.tokens import NAME_MAX


def strip(text):
    return text.replace("\x00", "").strip() if isinstance(text, str) else text


class ApiTokenForm(FlaskForm):
    name = StringField(
        _l("Token name"),
        filters=[strip],
        validators=[DataRequired(), Length(max=NAME_MAX)],
        render_kw={"maxlength": NAME_MAX, "autocomplete": "off"},
    )
