from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length

from crm.forms import LANGUAGE_CHOICES, PASSWORDS_DIFFER, strong_password, time_zone_field


class SetupForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[InputRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[InputRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), strong_password])
    password_again = PasswordField(
        _l("Password again"),
        validators=[InputRequired(), EqualTo("password", message=PASSWORDS_DIFFER)],
    )
    language = RadioField(_l("Interface language"), choices=LANGUAGE_CHOICES, default="en")
    timezone = time_zone_field(_l("The team's time zone"))
    sample_data = BooleanField(_l("Fill with sample data to try things out"))


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired()])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired()])
    password = PasswordField(_l("New password"), validators=[InputRequired(), strong_password])
    password_again = PasswordField(
        _l("New password again"),
        validators=[InputRequired(), EqualTo("password", message=PASSWORDS_DIFFER)],
    )
