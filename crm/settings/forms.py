from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length

from crm.forms import LANGUAGE_CHOICES, PASSWORDS_DIFFER, strong_password
from crm.models import Role


def role_choices():
    # Plain strings: WTForms takes a dict of value to label only when labels are `str`.
    return {
        Role.SALESPERSON.value: _("Salesperson"),
        Role.MANAGER.value: _("Manager"),
        Role.ADMIN.value: _("Administrator"),
    }


class NewUserForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[InputRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Role"), choices=role_choices, default=Role.SALESPERSON.value)
    language = SelectField(_l("Interface language"), choices=LANGUAGE_CHOICES, default="en")
    password = PasswordField(_l("Password"), validators=[InputRequired(), strong_password])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[InputRequired(), strong_password])
    password_again = PasswordField(
        _l("New password again"),
        validators=[InputRequired(), EqualTo("password", message=PASSWORDS_DIFFER)],
    )


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
